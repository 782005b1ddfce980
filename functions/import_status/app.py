"""ImportStatusFunction: the GET routes (jobs, row errors, lists, contacts, OpenAPI)."""

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from contacts_import.api.imports_read import router
from contacts_import.api.resolver import build_resolver
from contacts_import.logs import service_logger

logger = service_logger()
tracer = Tracer()
metrics = Metrics()
app = build_resolver(router)


# Events and responses carry contact data: never logged, never recorded in traces.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
