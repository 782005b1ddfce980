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
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from contacts_import.clock import utc_now
from contacts_import.models import ImportOptions
from contacts_import.pipeline.chunks import FilePlan, read_chunk
from contacts_import.pipeline.fanout import map_chunk, missing_from_file, split_ranges
from contacts_import.pipeline.mapping import plan_file_columns
from contacts_import.pipeline.normalize import ContactDraft, RowNormalizer
from contacts_import.pipeline.outcomes import RunContext
from contacts_import.pipeline.reduce import reduce_range
from contacts_import.pipeline.runs import KeyRange, RunIndex, decode_run
from contacts_import.pipeline.shards import LEGACY, contact_key, phone_of, shard_spans
from contacts_import.pipeline.tally import Tally
from contacts_import.service.job_end import WEBHOOK, end_job, retry_webhook
from contacts_import.service.pipeline_deps import PipelineDeps
from contacts_import.store.jobs import JobEnding
from contacts_import.store.leases import Grant, ShardsBusy
from contacts_import.store.metering import Consumed, metered
from contacts_import.store.task_queue import Task
from contacts_import.store.tasks import MAP, PRUNE, PRUNE_PLAN, PRUNE_PROGRESS, REDUCE

logger = Logger(child=True)

PHASES = (MAP, REDUCE, PRUNE)
DELETE_BATCH = 1000  # prune deletions between two records of how far they got


def process_task(task: Task, deps: PipelineDeps) -> Consumed | None:
    """Run ``task`` unless it is recorded already, record it, and move its job on; what this run of
    it consumed, if it ran."""
    if task.kind == WEBHOOK:
        retry_webhook(task, deps)
        return None
    job = deps.jobs.get(task.account_id, task.job_id)
    if job is None:
        logger.warning("A task of a job that does not exist was dropped", extra={"task": task.kind})
        return None
    logger.append_keys(job_id=task.job_id, account_id=task.account_id)
    if job.get("ended"):
        return None  # a late duplicate: the job is over
    consumed: Consumed | None = None
    if deps.tasks.get(task.account_id, task.job_id, task.kind, task.number) is None:
        try:
            with metered() as consumed:
                tally, index = _run(task, job, deps)
        except JobEndedMeanwhile:
            return None
        except ShardsBusy as busy:
            delay = _busy_delay(deps)
            logger.info(
                "Shards held by another import; the task is sent again",
                extra={"delay": delay, "held_shards": sorted(busy.held)},
            )
            deps.queue.send([task], delay_seconds=delay)
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


def _run(task: Task, job: dict[str, Any], deps: PipelineDeps) -> tuple[Tally, RunIndex | None]:
    if job["status"] == "cancelled":
        return Tally(), None  # nothing more is done; recording it lets the phase, and the job, end
    if task.kind == MAP:
        return _map(task, job, deps)
    if task.kind == REDUCE:
        return _reduce(task, job, deps), None
    if task.kind == PRUNE:
        return _prune(task, job, deps), None
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


@contextmanager
def _leased(task: Task, job: dict[str, Any], deps: PipelineDeps) -> Iterator[Grant]:
    """The leases of the task's shards, taken for the job before the task reads the list (ShardsBusy
    when another import holds one). They stay the job's when the task ends: ``advance`` lets a shard
    go once no task of the phase is left on it."""
    grant = deps.leases.acquire(
        task.account_id,
        job["list_id"],
        task.job_id,
        _range_shards(job, task.number),
        now=time.time(),
        hold_seconds=deps.settings.lease_seconds,
    )
    if _ended_meanwhile(task, job, deps):
        raise JobEndedMeanwhile
    yield grant


def _reduce(task: Task, job: dict[str, Any], deps: PipelineDeps) -> Tally:
    options = _options(job)
    shards = _shards(job)
    context = RunContext(job_id=task.job_id, list_id=job["list_id"], now=job.get("started_at") or job["created_at"])

    def cancelled() -> bool:
        current = deps.jobs.get(task.account_id, task.job_id)
        return current is None or current["status"] == "cancelled"

    def reduce(assume_absent: frozenset[int]) -> tuple[Tally, bool]:
        return reduce_range(
            _runs(task, _keys(job, task.number), shards, deps),
            deps.contacts(task.account_id, job["list_id"], shards=shards, assume_absent=assume_absent),
            options,
            context,
            shards=shards,
            stop=cancelled,
        )

    if options.dry_run:  # reads only: it takes no lease, and no write waits for it
        tally, stopped = reduce(frozenset())
    else:
        with _leased(task, job, deps) as grant:
            tally, stopped = reduce(grant.sole_writer if shards != LEGACY else frozenset())
    if stopped:
        logger.info("Range stopped: the job was cancelled", extra={"number": task.number})
    return tally


def _prune(task: Task, job: dict[str, Any], deps: PipelineDeps) -> Tally:
    """Mirror mode: delete the list's contacts in the range that the file lacks.

    What is to be deleted is decided once and recorded (``prune-plan``) before anything is deleted,
    so a repeat deletes the same contacts and counts the same number, though some are gone. The
    list is streamed to and from the work area, and how far the deletions got is noted as they go,
    so a range of any size is pruned in bounded memory, over as many attempts as it takes."""
    with _leased(task, job, deps):
        return _prune_leased(task, job, deps)


def _prune_leased(task: Task, job: dict[str, Any], deps: PipelineDeps) -> Tally:
    account_id, job_id = task.account_id, task.job_id
    shards = _shards(job)
    work = deps.work(account_id, job_id)
    contacts = deps.contacts(account_id, job["list_id"], shards=shards)
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
