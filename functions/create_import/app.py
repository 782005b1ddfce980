"""CreateImportFunction: the POST routes (start an import, get an upload, cancel a job, mint a
browser session, preview a file, save or delete a mapping profile, and the compatibility routes
that import as other APIs do)."""

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from contacts_import.api import mapping_profiles, preview, sessions
from contacts_import.api.compatibility import routes as compatibility
from contacts_import.api.imports_write import router
from contacts_import.api.resolver import build_resolver
from contacts_import.logs import service_logger

logger = service_logger()
metrics = Metrics()
app = build_resolver(router, sessions.router, preview.router, mapping_profiles.write_router, compatibility.router)


# Events and responses carry contact data: never logged. Tracing is Lambda's own (Tracing: Active):
# the X-Ray SDK's subsegments would cost 150 ms of every cold start (docs/performance.md).
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
