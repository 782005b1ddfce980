"""AWS adapters: the only modules that talk to S3 and DynamoDB. Logic receives them as arguments."""
