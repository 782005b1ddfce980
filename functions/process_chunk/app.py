"""ProcessChunkFunction: SQS-triggered; runs the tasks of imports (map a chunk, reduce or prune a
phone range, a webhook put off to later), one message each.

While a task runs, a heartbeat keeps its message invisible (and its leases held); a worker that
dies stops it, and the task is back within a minute. A task that fails is logged (masked, with its
trace) and reported as a batch item failure: its message comes back after a backoff that grows
with its receives, and on its last receive its job fails and it goes to the dead-letter queue
(``service.process_chunk.process_delivery``). Running a task again is safe.
"""

from functools import cache

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from contacts_import.logs import service_logger, values_kept_out
from contacts_import.service.pipeline_deps import PipelineDeps
from contacts_import.service.process_chunk import chunk_deps, process_delivery, publish_consumed
from contacts_import.store.task_queue import Delivery, Task

logger = service_logger()
metrics = Metrics()
# A whole batch that fails is answered as failed items too, not raised: the answer is the same to
# the event source, and an exception's message (which may quote row values) stays out of Lambda's.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@cache
def deps() -> PipelineDeps:
    return chunk_deps()


def record_handler(record: SQSRecord) -> None:
    task = Task.from_message(record.body)
    receives = int(record.attributes.approximate_receive_count)
    delivery = Delivery(deps().settings.chunk_queue_url, record.receipt_handle, receives)
    try:
        publish_consumed(metrics, process_delivery(task, delivery, deps()))
    except Exception:
        logger.exception(
            "Task failed; its message comes back for a retry after a backoff",
            extra={
                "task": task.kind,
                "number": task.number,
                "receive_count": receives,
            },
        )
        raise


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
@values_kept_out(logger)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
