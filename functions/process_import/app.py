"""ProcessImportFunction: S3-triggered; plans every uploaded or dropped file it is told of into
chunks, and hands them to the chunk queue.

An error it cannot handle is re-raised, so that Lambda's retries (and its dead-letter queue) take
over; processing the same object again is safe.
"""

from functools import cache

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from contacts_import.logs import service_logger, values_kept_out
from contacts_import.service.pipeline_deps import PipelineDeps
from contacts_import.service.process_import import StoredObject, process_deps, process_object

logger = service_logger()
metrics = Metrics()


@cache
def deps() -> PipelineDeps:
    return process_deps()


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
@values_kept_out(logger)
@event_source(data_class=S3Event)
def lambda_handler(event: S3Event, context: LambdaContext) -> dict:
    job_ids = [
        process_object(
            StoredObject(
                bucket=record.s3.bucket.name,
                encoded_key=record.s3.get_object.key,
                size=record.s3.get_object.size or 0,
                etag=record.s3.get_object.etag or "",
                sequencer=record.s3.get_object.sequencer or "",
                event_time=record.event_time,
                principal=record.user_identity.principal_id or "",
                bucket_owner=record.s3.bucket.owner_identity.principal_id or "",
            ),
            deps(),
        )
        for record in event.records
    ]
    return {"job_ids": [job_id for job_id in job_ids if job_id]}
