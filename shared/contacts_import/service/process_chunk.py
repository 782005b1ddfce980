"""The chunk worker's use case: run one task of a job, record it once, and move the job on.

A job's work (see ``pipeline.fanout``) is a *map* task per chunk, then a *reduce* task per range of
contact keys, then, in mirror mode, a *prune* task per range. Each task arrives as an SQS message,
at least once, in any order, on any number of workers:

- a task already recorded is not run again; a task run twice (two workers at once, or a worker that
  died after writing contacts and before recording) records once, and counts the same either way,
  because its outcomes are derived from what is stored;
- after recording, ``advance`` looks at the job's recorded tasks: when the last task of a phase is
  in, the next phase's tasks are sent by whoever wins the job's conditional phase change, and when
  the last task of all is in, the job ends (``end_job``: exactly once, by its own condition);
- counts shown while a job runs are the sum of its recorded tasks, so they only grow, and are
  exact when it ends.

A cancelled job's tasks record nothing new (a task under way stops at its next check and records
what it did), so its phase still completes and the job ends ``cancelled`` with what was written.

A reduce or prune task that writes takes the leases of its range's shards first (``store.leases``);
one that finds a shard held by another import is sent again with a delay (a fresh message, so that
waiting never uses up the queue's receive limit), and the job lets go of a shard when none of its
tasks of the phase are left on it.
"""

from __future__ import annotations

import heapq
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from contacts_import.clock import utc_now
from contacts_import.errors import FileRejected, TaskFailed
from contacts_import.models import ImportOptions
from contacts_import.pipeline.chunks import FilePlan, read_chunk
from contacts_import.pipeline.fanout import map_chunk, missing_from_file, split_ranges
from contacts_import.pipeline.mapping import plan_file_columns
from contacts_import.pipeline.normalize import ContactDraft, RowNormalizer
from contacts_import.pipeline.outcomes import RunContext
from contacts_import.pipeline.reduce import reduce_range
from contacts_import.pipeline.runs import KeyRange, RunIndex, decode_run
from contacts_import.pipeline.shards import LEGACY, contact_key, phone_of, shard_spans
from contacts_import.pipeline.stores import ContactRepository
from contacts_import.pipeline.tally import Tally
from contacts_import.service.job_end import WEBHOOK, announce, end_job, retry_webhook
from contacts_import.service.pipeline_deps import PipelineDeps
from contacts_import.settings import PipelineSettings
from contacts_import.store.contacts import ContactStore
from contacts_import.store.jobs import JobEnding
from contacts_import.store.leases import Grant, LeaseLost, ShardsBusy
from contacts_import.store.metering import Consumed, metered
from contacts_import.store.task_queue import Delivery, Heartbeat, Task
from contacts_import.store.tasks import MAP, PRUNE, PRUNE_PLAN, PRUNE_PROGRESS, REDUCE

logger = Logger(child=True)

PHASES = (MAP, REDUCE, PRUNE)
DELETE_BATCH = 1000  # prune deletions between two records of how far they got
# A write is sent only while the shards' lease has at least this long to run: more than one batch
# write takes, throttling's retries included (store.dynamo), with the heartbeat renewing meanwhile.
LEASE_MARGIN_SECONDS = 60


def process_delivery(task: Task, delivery: Delivery, deps: PipelineDeps) -> Consumed | None:
    """Run a task as the chunk worker receives it: its message kept invisible by a heartbeat while it
    runs; after a failure, back on the queue after a backoff that grows with its receives, and on
    its last receive, its job failed (``task_failed``) before its message goes to the dead-letter
    queue. The failure is raised again, for the batch's answer."""
    settings = deps.settings
    heartbeat = deps.queue.heartbeat(
        delivery,
        visibility_seconds=settings.task_visibility_seconds,
        every_seconds=settings.task_heartbeat_seconds,
        on_failure=_heartbeat_failed,
    )
    with heartbeat:
        try:
            return process_task(task, deps, heartbeat)
        except Exception:
            if delivery.receive_count >= settings.task_max_receives:
                logger.error("A task failed on its last receive; its job fails", extra={"task": task.kind})
                fail_job(task.account_id, task.job_id, TaskFailed(_task_failed_message(task, settings)), deps)
                heartbeat.retry_in(0)  # on to the dead-letter queue at its next receive
            else:
                heartbeat.retry_in(retry_delay(delivery.receive_count, settings))
            raise


def retry_delay(receive_count: int, settings: PipelineSettings) -> int:
    """Seconds before a failed task comes back: doubling with each receive from the base, capped,
    and drawn between half and all of that (jitter, so failures at one moment spread out)."""
    ceiling = min(settings.task_retry_cap_seconds, settings.task_retry_base_seconds * 2 ** max(0, receive_count - 1))
    return max(1, round(random.uniform(ceiling / 2, ceiling)))


def _task_failed_message(task: Task, settings: PipelineSettings) -> str:
    return (
        f"A {task.kind} task of the import failed on each of its {settings.task_max_receives} attempts and "
        "the import was stopped; what it wrote stays."
    )


def _heartbeat_failed(what: str, error: Exception) -> None:
    logger.warning("A task's heartbeat could not renew its " + what, extra={"error": type(error).__name__})


def process_task(task: Task, deps: PipelineDeps, heartbeat: Heartbeat | None = None) -> Consumed | None:
    """Run ``task`` unless it is recorded already, record it, and move its job on; what this run of
    it consumed, if it ran. ``heartbeat`` (the chunk worker's, while the task's message is in
    flight) renews the leases the task takes."""
    if task.kind == WEBHOOK:
        retry_webhook(task, deps)
        return None
    job = deps.jobs.get(task.account_id, task.job_id)
    if job is None:
        logger.warning("A task of a job that does not exist was dropped", extra={"task": task.kind})
        return None
    logger.append_keys(job_id=task.job_id, account_id=task.account_id)
    if job.get("ended"):
        if job.get("active"):  # ended and never announced: the worker that ended it died in between
            announce(task.account_id, task.job_id, deps)
        return None  # a late duplicate: the job is over
    consumed: Consumed | None = None
    if deps.tasks.get(task.account_id, task.job_id, task.kind, task.number) is None:
        try:
            with metered() as consumed:
                tally, index = _run(task, job, deps, heartbeat)
        except JobEndedMeanwhile:
            return None
        except ShardsBusy as busy:
            delay = _busy_delay(deps)
            logger.info(
                "Shards held by another import; the task is sent again",
                extra={"delay": delay, "held_shards": sorted(busy.held)},
            )
            deps.queue.send([task], delay_seconds=delay)
            # The job waits, it has not stalled: the sweeper sees it move.
            deps.jobs.touch(task.account_id, task.job_id, now=utc_now())
            return None
        except Exception:
            if _ended_meanwhile(task, job, deps):
                return None  # a late duplicate whose job ended, and whose work area went, under it
            raise
        recorded = deps.tasks.record(
            task.account_id, task.job_id, task.kind, task.number, tally, now=utc_now(), index=index, consumed=consumed
        )
        logger.info("Task done", extra={"task": task.kind, "number": task.number, "first": recorded})
    advance(task.account_id, task.job_id, deps, finished=task)
    return consumed


class JobEndedMeanwhile(Exception):
    """A late duplicate of a task found its job ended once it held its leases: it lets them go and
    does nothing."""


def _ended_meanwhile(task: Task, job: dict[str, Any], deps: PipelineDeps) -> bool:
    """Whether the job ended while this run of a task was under way (another delivery of it, or of
    the job's last task, finished the job); if so, the leases this run may have taken again after
    the job let go of them are released, so that they do not hold another import up."""
    current = deps.jobs.get(task.account_id, task.job_id)
    if current is not None and not current.get("ended"):
        return False
    held = deps.leases.held_by(task.account_id, job["list_id"], task.job_id)
    if held:
        deps.leases.release(task.account_id, job["list_id"], task.job_id, held)
    logger.info("A late duplicate of a task stopped: its job ended meanwhile", extra={"task": task.kind})
    return True


def _run(
    task: Task, job: dict[str, Any], deps: PipelineDeps, heartbeat: Heartbeat | None
) -> tuple[Tally, RunIndex | None]:
    if job["status"] == "cancelled":
        return Tally(), None  # nothing more is done; recording it lets the phase, and the job, end
    if task.kind == MAP:
        return _map(task, job, deps)
    if task.kind == REDUCE:
        return _reduce(task, job, deps, heartbeat), None
    if task.kind == PRUNE:
        return _prune(task, job, deps, heartbeat), None
    raise ValueError(f"unknown task kind {task.kind!r}")


def publish_consumed(metrics: Metrics, consumed: Consumed | None) -> None:
    """What a task's run cost, as metrics of the function's metric set."""
    if consumed is None:
        return
    metrics.add_metric(name="DynamoDBWriteUnits", unit=MetricUnit.Count, value=consumed.write_units)
    metrics.add_metric(name="DynamoDBReadUnits", unit=MetricUnit.Count, value=consumed.read_units)
    metrics.add_metric(name="S3Requests", unit=MetricUnit.Count, value=consumed.s3_requests)


def _busy_delay(deps: PipelineDeps) -> int:
    """Seconds before a task that met another import's shards comes back: jittered, so that the
    tasks that wait for one import do not all come back at once."""
    base = deps.settings.busy_shard_retry_seconds
    return min(900, base + random.randint(0, base))


# ------------------------------------------------------------------------------ the tasks


def _options(job: dict[str, Any]) -> ImportOptions:
    return ImportOptions.model_validate(job["options"])


def _shards(job: dict[str, Any]) -> int:
    """The shards of the job's list, as recorded when it was planned."""
    return int(job.get("shards", LEGACY))


def _map(task: Task, job: dict[str, Any], deps: PipelineDeps) -> tuple[Tally, RunIndex]:
    work = deps.work(task.account_id, task.job_id)
    document = work.get_plan()
    plan = FilePlan.from_json(document)
    chunk = plan.chunks[task.number]
    options = _options(job)
    normalizer = RowNormalizer(plan_file_columns(plan.first_record, options), options)
    stream = work.open_range(document["source_key"], chunk.start, chunk.end)
    # The job's cap on stored row errors, shared out among its chunks: each stores its first ones.
    share = max(1, deps.settings.max_row_errors_stored // len(plan.chunks))
    errors = deps.error_writer(task.account_id, task.job_id, limit=share)
    mapped = map_chunk(read_chunk(stream, plan, chunk), normalizer, errors, shards=_shards(job))
    mapped.tally.errors_not_stored = errors.not_stored
    work.put_run(task.number, mapped.run)
    return mapped.tally, mapped.index


def _runs(task: Task, keys: KeyRange, shards: int, deps: PipelineDeps) -> list[list[ContactDraft]]:
    """The drafts of every run that fall in ``keys``: the range's share of the file."""
    work = deps.work(task.account_id, task.job_id)
    runs = []
    for number, index in sorted(deps.tasks.run_indexes(task.account_id, task.job_id).items()):
        span = index.span(keys)
        if span is not None:
            runs.append(list(decode_run(work.read_run(number, *span), keys, shards)))
    return runs


def _keys(job: dict[str, Any], number: int) -> KeyRange:
    return KeyRange.from_json(job["ranges"][number])


def _range_shards(job: dict[str, Any], number: int) -> list[int]:
    keys = _keys(job, number)
    return [span.shard for span in shard_spans(keys.lo, keys.hi, _shards(job))]


class ShardHold:
    """The job's hold on a task's shards as this worker knows it: renewed by the heartbeat, and
    sure to last while its last renewal is younger than the hold less LEASE_MARGIN_SECONDS."""

    def __init__(self, renew: Callable[[float], None], hold_seconds: float) -> None:
        self._renew = renew
        self._hold = hold_seconds
        self._renewed_at = time.monotonic()
        self._lost: LeaseLost | None = None

    def renew(self) -> None:
        started = time.monotonic()
        try:
            self._renew(time.time())
        except LeaseLost as lost:
            self._lost = lost
            raise
        self._renewed_at = started

    def check(self) -> None:
        """LeaseLost unless the hold is sure to last past the write about to be sent."""
        if self._lost is not None:
            raise self._lost
        if time.monotonic() - self._renewed_at > self._hold - LEASE_MARGIN_SECONDS:
            raise LeaseLost("the shards' lease may have run out: this worker was held up")


class WritesUnderHold:
    """A list's contacts whose every write and delete first checks the task's hold on its shards."""

    def __init__(self, contacts: ContactStore, hold: ShardHold) -> None:
        self._contacts = contacts
        self._hold = hold

    def __getattr__(self, name: str) -> Any:
        return getattr(self._contacts, name)

    def write(self, items: list[dict[str, Any]]) -> None:
        self._hold.check()
        self._contacts.write(items)

    def delete(self, phones: list[str]) -> None:
        self._hold.check()
        self._contacts.delete(phones)


@contextmanager
def _leased(
    task: Task, job: dict[str, Any], deps: PipelineDeps, heartbeat: Heartbeat | None
) -> Iterator[tuple[Grant, ShardHold]]:
    """The leases of the task's shards, taken for the job before the task reads the list (ShardsBusy
    when another import holds one), and renewed on the heartbeat's beats while the task runs. They
    stay the job's when the task ends: ``advance`` lets a shard go once no task of the phase is left
    on it."""
    account_id, list_id, shards = task.account_id, job["list_id"], _range_shards(job, task.number)
    hold_seconds = deps.settings.lease_seconds
    grant = deps.leases.acquire(account_id, list_id, task.job_id, shards, now=time.time(), hold_seconds=hold_seconds)
    hold = ShardHold(
        lambda now: deps.leases.renew(account_id, list_id, task.job_id, shards, now=now, hold_seconds=hold_seconds),
        hold_seconds,
    )
    if _ended_meanwhile(task, job, deps):
        raise JobEndedMeanwhile
    if heartbeat is not None:
        heartbeat.renew_also(hold.renew)
    yield grant, hold


def _reduce(task: Task, job: dict[str, Any], deps: PipelineDeps, heartbeat: Heartbeat | None) -> Tally:
    options = _options(job)
    shards = _shards(job)
    context = RunContext(
        job_id=task.job_id,
        list_id=job["list_id"],
        now=job.get("started_at") or job["created_at"],
        clear=_blank_clears(task, options, deps),
    )

    def cancelled() -> bool:
        current = deps.jobs.get(task.account_id, task.job_id)
        return current is None or current["status"] == "cancelled"

    def reduce(contacts: ContactRepository) -> tuple[Tally, bool]:
        runs = _runs(task, _keys(job, task.number), shards, deps)
        journal = deps.journal(task.account_id, task.job_id)
        return reduce_range(runs, contacts, options, context, shards=shards, stop=cancelled, journal=journal)

    if options.dry_run:  # reads only: it takes no lease, and no write waits for it
        tally, stopped = reduce(deps.contacts(task.account_id, job["list_id"], shards=shards))
    else:
        with _leased(task, job, deps, heartbeat) as (grant, hold):
            assume_absent = grant.sole_writer if shards != LEGACY else frozenset()
            contacts = deps.contacts(task.account_id, job["list_id"], shards=shards, assume_absent=assume_absent)
            tally, stopped = reduce(WritesUnderHold(contacts, hold))
    if stopped:
        logger.info("Range stopped: the job was cancelled", extra={"number": task.number})
    return tally


def _blank_clears(task: Task, options: ImportOptions, deps: PipelineDeps) -> frozenset[str]:
    """The fields a blank cell empties: with ``on_blank=clear`` on update, those the file has a
    column for, from the plan's first record as every map reads it (one more read of the plan)."""
    if options.on_blank != "clear" or options.on_existing != "update":
        return frozenset()
    plan = FilePlan.from_json(deps.work(task.account_id, task.job_id).get_plan())
    return plan_file_columns(plan.first_record, options).blankable_fields()


def _prune(task: Task, job: dict[str, Any], deps: PipelineDeps, heartbeat: Heartbeat | None) -> Tally:
    """Mirror mode: delete the list's contacts in the range that the file lacks.

    What is to be deleted is decided once and recorded (``prune-plan``) before anything is deleted,
    so a repeat deletes the same contacts and counts the same number, though some are gone. The
    list is streamed to and from the work area, and how far the deletions got is noted as they go,
    so a range of any size is pruned in bounded memory, over as many attempts as it takes."""
    with _leased(task, job, deps, heartbeat) as (_, hold):
        return _prune_leased(task, job, deps, hold)


def _prune_leased(task: Task, job: dict[str, Any], deps: PipelineDeps, hold: ShardHold) -> Tally:
    account_id, job_id = task.account_id, task.job_id
    shards = _shards(job)
    work = deps.work(account_id, job_id)
    contacts = WritesUnderHold(deps.contacts(account_id, job["list_id"], shards=shards), hold)
    plan = deps.tasks.get(account_id, job_id, PRUNE_PLAN, task.number)
    if plan is None:
        keys = _keys(job, task.number)
        in_file = heapq.merge(*([contact_key(d.phone, shards) for d in run] for run in _runs(task, keys, shards, deps)))
        writer = work.prune_list_writer(task.number, uuid.uuid4().hex)
        to_delete = 0
        for key in missing_from_file(contacts.keys_between(keys.lo, keys.hi), in_file):
            writer.write(phone_of(key).encode("ascii") + b"\n")
            to_delete += 1
        writer.close()
        deps.tasks.record(
            account_id,
            job_id,
            PRUNE_PLAN,
            task.number,
            Tally(deleted=to_delete),
            now=utc_now(),
            extra={"key": writer.key},
        )
        plan = deps.tasks.get(account_id, job_id, PRUNE_PLAN, task.number)
        assert plan is not None
    done = deps.tasks.progress(account_id, job_id, PRUNE_PROGRESS, task.number)
    batch: list[str] = []
    for phone in work.prune_list(plan.extra["key"], skip=done):
        batch.append(phone)
        if len(batch) >= DELETE_BATCH:
            contacts.delete(batch)
            done += len(batch)
            deps.tasks.note_progress(account_id, job_id, PRUNE_PROGRESS, task.number, done)
            batch = []
    contacts.delete(batch)
    return plan.tally


# ------------------------------------------------------------------------------ moving a job on


def advance(
    account_id: str, job_id: str, deps: PipelineDeps, *, resend: bool = False, finished: Task | None = None
) -> None:
    """Move the job on from what its recorded tasks say. With ``resend`` (the sweeper), the
    missing tasks of the current phase are sent again; ``finished``, the task just recorded, lets go
    of its shards that no other task of the phase still needs."""
    job = deps.jobs.get(account_id, job_id)
    if job is None or job.get("ended") or "plan_key" not in job:
        return
    done: dict[str, set[int]] = defaultdict(set)
    total = Tally()
    consumed = Consumed()
    for record in deps.tasks.recorded(account_id, job_id):
        consumed.add(record.consumed)
        if record.kind in PHASES:
            done[record.kind].add(record.number)
            total.add(record.tally)
    maps, ranges = int(job["map_tasks"]), list(job.get("ranges") or [])
    _show_progress(job, total, consumed, done, maps, len(ranges), deps)

    phase = job.get("phase", MAP)
    expected = maps if phase == MAP else len(ranges)
    missing = [n for n in range(expected) if n not in done[phase]]
    if finished is not None and finished.kind == phase and phase in (REDUCE, PRUNE) and missing:
        _let_go_of_finished_shards(job, finished.number, missing, deps)
    if missing:
        if resend:
            logger.info("Sending missing tasks again", extra={"phase": phase, "missing": len(missing)})
            deps.queue.send([Task(account_id, job_id, phase, n) for n in missing])
        return

    options = _options(job)
    cancelled = job["status"] == "cancelled"
    if phase == MAP and not cancelled:
        indexes = deps.tasks.run_indexes(account_id, job_id)
        cut = split_ranges(
            [indexes[n] for n in sorted(indexes)],
            rows_per_range=deps.settings.rows_per_range,
            max_ranges=deps.settings.max_ranges,
            shards=_shards(job),
        )
        _next_phase(job, MAP, REDUCE, len(cut), deps, ranges=[r.to_json() for r in cut], resend=resend)
        return
    mirror = options.replace_list and not options.dry_run and not job.get("plan_failure")
    if phase == REDUCE and mirror and not cancelled:
        _next_phase(job, REDUCE, PRUNE, len(ranges), deps, resend=resend)
        return
    status = "cancelled" if cancelled else ("failed" if job.get("plan_failure") else "completed")
    end_job(
        job,
        JobEnding(
            status,
            counts=total.as_counts(),
            error_count=total.invalid,
            errors_not_stored=total.errors_not_stored,
            failure=job.get("plan_failure"),
            column_names=tuple(job.get("column_names") or ()),
            contacts_added=0 if options.dry_run else total.created - total.deleted,
            consumed=consumed,
        ),
        deps,
    )


def _next_phase(
    job: dict[str, Any],
    current: str,
    following: str,
    tasks: int,
    deps: PipelineDeps,
    *,
    ranges: list[list[str | None]] | None = None,
    resend: bool,
) -> None:
    account_id, job_id = job["account_id"], job["job_id"]
    # Of the workers that find the phase complete at once, one moves the job on and sends the
    # next tasks; the sweeper (resend) sends them again if that one died in between.
    if deps.jobs.begin_phase(
        account_id,
        job_id,
        current=current,
        following=following,
        ranges=ranges,
        now=utc_now(),
    ):
        logger.info("Next phase", extra={"phase": following, "tasks": tasks})
        deps.queue.send([Task(account_id, job_id, following, n) for n in range(tasks)])
    elif resend:
        advance(account_id, job_id, deps, resend=True)


def _let_go_of_finished_shards(job: dict[str, Any], number: int, missing: list[int], deps: PipelineDeps) -> None:
    """The shards of range ``number`` that none of the phase's ``missing`` tasks covers are done
    with: another import waiting for one may take it now (the job's end lets go of the rest)."""
    if _options(job).dry_run:
        return
    still_needed = {shard for n in missing for shard in _range_shards(job, n)}
    done_with = [shard for shard in _range_shards(job, number) if shard not in still_needed]
    if done_with:
        deps.leases.release(job["account_id"], job["list_id"], job["job_id"], done_with)


def _show_progress(
    job: dict[str, Any],
    total: Tally,
    consumed: Consumed,
    done: dict[str, set[int]],
    maps: int,
    ranges: int,
    deps: PipelineDeps,
) -> None:
    if job["status"] != "processing":
        return
    mapped = len(done[MAP]) / max(maps, 1)
    reduced = len(done[REDUCE]) / ranges if ranges else 0.0
    tasks_done = sum(len(numbers) for numbers in done.values())
    deps.jobs.record_progress(
        job["account_id"],
        job["job_id"],
        counts=total.as_counts(),
        error_count=total.invalid,
        progress=min(0.5 * mapped + 0.5 * reduced, 0.99),
        tasks_done=tasks_done,
        now=utc_now(),
        consumed=consumed,
    )


def chunk_deps() -> PipelineDeps:
    """The chunk worker's adapters, from its environment (called once per cold start)."""
    from contacts_import.service.pipeline_deps import pipeline_deps
    from contacts_import.settings import ProcessChunkSettings

    return pipeline_deps(ProcessChunkSettings.from_environment())


def fail_job(account_id: str, job_id: str, error: FileRejected, deps: PipelineDeps) -> bool:
    """End a job that cannot complete as ``failed`` with ``error``'s code, counting what its recorded
    tasks did (what it wrote stays); False when it had ended already."""
    job = deps.jobs.get(account_id, job_id)
    if job is None or job.get("ended"):
        return False
    total = Tally()
    for record in deps.tasks.recorded(account_id, job_id):
        if record.kind in PHASES:
            total.add(record.tally)
    dry_run = ImportOptions.model_validate(job.get("options") or {}).dry_run
    return end_job(
        job,
        JobEnding(
            "failed",
            counts=total.as_counts(),
            error_count=total.invalid,
            errors_not_stored=total.errors_not_stored,
            failure={"code": error.code, "message": error.message},
            column_names=tuple(job.get("column_names") or ()),
            contacts_added=0 if dry_run else total.created - total.deleted,
        ),
        deps,
    )
