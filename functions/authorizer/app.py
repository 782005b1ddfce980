"""AuthorizerFunction: checks the API key and passes its account and scopes on."""

from functools import cache

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from contacts_import.auth.authorizer import authorize
from contacts_import.logs import service_logger
from contacts_import.settings import AuthorizerSettings
from contacts_import.store.api_keys import ApiKeyStore
from contacts_import.store.dynamo import dynamodb_resource

logger = service_logger()


@cache
def key_store() -> ApiKeyStore:
    return ApiKeyStore(dynamodb_resource().Table(AuthorizerSettings.from_environment().api_keys_table))


@logger.inject_lambda_context(log_event=False)  # the event holds the API key
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def lambda_handler(event: APIGatewayAuthorizerRequestEvent, context: LambdaContext) -> dict:
    return authorize(event, key_store())
