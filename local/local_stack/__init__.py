"""The local stack: template.yaml served on one machine without Docker or an AWS account.

An AWS endpoint (moto server), the API Gateway REST API of the template (with its Lambda
authorizer), and the S3 and SQS event sources, all delivered to the same handler code that runs
in Lambda, each function in warm worker processes of its own. ``contacts-import-local`` starts it.
"""
