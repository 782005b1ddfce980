"""contacts_import: the domain package of the contacts-import service.

Pure parts (``pipeline``) know nothing of AWS; ``store`` holds the S3 and DynamoDB adapters;
``service`` ties them into the three use cases (create, process, report); ``api`` is the HTTP
surface served by the Powertools resolver; ``auth`` the API keys.
"""
