"""ImportStatusFunction: the GET routes (jobs, row errors, lists, contacts, mapping profiles, OpenAPI)."""

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from contacts_import.api import mapping_profiles
from contacts_import.api.imports_read import router
from contacts_import.api.resolver import build_resolver
from contacts_import.logs import service_logger

logger = service_logger()
metrics = Metrics()
app = build_resolver(router, mapping_profiles.read_router)


# Events and responses carry contact data: never logged. Tracing is Lambda's own (Tracing: Active):
# the X-Ray SDK's subsegments would cost 150 ms of every cold start (docs/performance.md).
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
