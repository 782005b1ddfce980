"""ImporterPageFunction: GET /importer (the page) and GET /importer.js (the web component)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from contacts_import.api.importer_routes import router
from contacts_import.api.resolver import build_resolver
from contacts_import.logs import service_logger

logger = service_logger()
app = build_resolver(router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
