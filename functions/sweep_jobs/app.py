"""SweepJobsFunction: scheduled; resends the lost tasks of quiet imports, fails stalled ones and
announces ended ones that were never announced."""

from functools import cache

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from contacts_import.logs import service_logger, values_kept_out
from contacts_import.service.pipeline_deps import PipelineDeps
from contacts_import.service.sweep_jobs import run_sweep, sweep_deps
from contacts_import.settings import SweepJobsSettings

logger = service_logger()
metrics = Metrics()


@cache
def deps() -> tuple[PipelineDeps, SweepJobsSettings]:
    return sweep_deps()


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
@values_kept_out(logger)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return vars(run_sweep(*deps()))
