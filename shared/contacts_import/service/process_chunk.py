"""The chunk worker's use case: run one task of a job, record it once, and move the job on.

A job's work (see ``pipeline.fanout``) is a *map* task per chunk, then a *reduce* task per phone
range, then, in mirror mode, a *prune* task per range. Each task arrives as an SQS message, at
least once, in any order, on any number of workers:

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
"""

from __future__ import annotations

import heapq
import uuid
from collections import defaultdict
from typing import Any

from aws_lambda_powertools import Logger

from contacts_import.clock import utc_now
from contacts_import.models import ImportOptions
from contacts_import.pipeline.chunks import FilePlan, read_chunk
from contacts_import.pipeline.fanout import (
    PhoneRange,
    RunIndex,
    column_plan,
    decode_run,
    map_chunk,
    missing_from_file,
    reduce_range,
    split_ranges,
)
from contacts_import.pipeline.normalize import ContactDraft, RowNormalizer
from contacts_import.pipeline.outcomes import RunContext, Tally
from contacts_import.service.job_end import WEBHOOK, end_job, retry_webhook
from contacts_import.service.pipeline_deps import PipelineDeps
from contacts_import.store.jobs import JobEnding
from contacts_import.store.task_queue import Task
from contacts_import.store.tasks import MAP, PRUNE, PRUNE_PLAN, PRUNE_PROGRESS, REDUCE

logger = Logger(child=True)

PHASES = (MAP, REDUCE, PRUNE)
DELETE_BATCH = 1000  # prune deletions between two records of how far they got


def process_task(task: Task, deps: PipelineDeps) -> None:
    """Run ``task`` unless it is recorded already, record it, and move its job on."""
    if task.kind == WEBHOOK:
        retry_webhook(task, deps)
        return
    job = deps.jobs.get(task.account_id, task.job_id)
    if job is None:
        logger.warning("A task of a job that does not exist was dropped", extra={"task": task.kind})
        return
    logger.append_keys(job_id=task.job_id, account_id=task.account_id)
    if job.get("ended"):
        return  # a late duplicate: the job is over
    if deps.tasks.get(task.account_id, task.job_id, task.kind, task.number) is None:
        index: RunIndex | None = None
        if job["status"] == "cancelled":
            tally = Tally()  # nothing more is done; recording it lets the phase, and the job, end
        elif task.kind == MAP:
            tally, index = _map(task, job, deps)
        elif task.kind == REDUCE:
            tally = _reduce(task, job, deps)
        elif task.kind == PRUNE:
            tally = _prune(task, job, deps)
        else:
            raise ValueError(f"unknown task kind {task.kind!r}")
        recorded = deps.tasks.record(
            task.account_id, task.job_id, task.kind, task.number, tally, now=utc_now(), index=index
        )
        logger.info("Task done", extra={"task": task.kind, "number": task.number, "first": recorded})
    advance(task.account_id, task.job_id, deps)


# ------------------------------------------------------------------------------ the tasks


def _options(job: dict[str, Any]) -> ImportOptions:
    return ImportOptions.model_validate(job["options"])


def _map(task: Task, job: dict[str, Any], deps: PipelineDeps) -> tuple[Tally, RunIndex]:
    work = deps.work(task.account_id, task.job_id)
    document = work.get_plan()
    plan = FilePlan.from_json(document)
    chunk = plan.chunks[task.number]
    options = _options(job)
    normalizer = RowNormalizer(column_plan(plan.first_record, options), options)
    stream = work.open_range(document["source_key"], chunk.start, chunk.end)
    mapped = map_chunk(read_chunk(stream, plan, chunk), normalizer, deps.error_writer(task.account_id, task.job_id))
    work.put_run(task.number, mapped.run)
    return mapped.tally, mapped.index


def _runs(task: Task, phones: PhoneRange, deps: PipelineDeps) -> list[list[ContactDraft]]:
    """The drafts of every run that fall in ``phones``: the range's share of the file."""
    work = deps.work(task.account_id, task.job_id)
    runs = []
    for number, index in sorted(deps.tasks.run_indexes(task.account_id, task.job_id).items()):
        span = index.span(phones)
        if span is not None:
            runs.append(list(decode_run(work.read_run(number, *span), phones)))
    return runs


def _phones(job: dict[str, Any], number: int) -> PhoneRange:
    return PhoneRange.from_json(job["ranges"][number])


def _reduce(task: Task, job: dict[str, Any], deps: PipelineDeps) -> Tally:
    options = _options(job)
    context = RunContext(job_id=task.job_id, list_id=job["list_id"], now=job.get("started_at") or job["created_at"])

    def cancelled() -> bool:
        current = deps.jobs.get(task.account_id, task.job_id)
        return current is None or current["status"] == "cancelled"

    tally, stopped = reduce_range(
        _runs(task, _phones(job, task.number), deps),
        deps.contacts(task.account_id, job["list_id"]),
        options,
        context,
        stop=cancelled,
    )
    if stopped:
        logger.info("Range stopped: the job was cancelled", extra={"number": task.number})
    return tally


def _prune(task: Task, job: dict[str, Any], deps: PipelineDeps) -> Tally:
    """Mirror mode: delete the list's contacts in the range that the file lacks.

    What is to be deleted is decided once and recorded (``prune-plan``) before anything is deleted,
    so a repeat deletes the same contacts and counts the same number, though some are gone. The
    list is streamed to and from the work area, and how far the deletions got is noted as they go,
    so a range of any size is pruned in bounded memory, over as many attempts as it takes."""
    account_id, job_id = task.account_id, task.job_id
    work = deps.work(account_id, job_id)
    contacts = deps.contacts(account_id, job["list_id"])
    plan = deps.tasks.get(account_id, job_id, PRUNE_PLAN, task.number)
    if plan is None:
        phones = _phones(job, task.number)
        in_file = heapq.merge(*([d.phone for d in run] for run in _runs(task, phones, deps)))
        writer = work.prune_list_writer(task.number, uuid.uuid4().hex)
        doomed = 0
        for phone in missing_from_file(contacts.phones_between(phones.lo, phones.hi), in_file):
            writer.write(phone.encode("ascii") + b"\n")
            doomed += 1
        writer.close()
        deps.tasks.record(
            account_id, job_id, PRUNE_PLAN, task.number, Tally(deleted=doomed), now=utc_now(), extra={"key": writer.key}
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


def advance(account_id: str, job_id: str, deps: PipelineDeps, *, resend: bool = False) -> None:
    """Move the job on from what its recorded tasks say. With ``resend`` (the sweeper), the
    missing tasks of the current phase are sent again."""
    job = deps.jobs.get(account_id, job_id)
    if job is None or job.get("ended") or "plan_key" not in job:
        return
    done: dict[str, set[int]] = defaultdict(set)
    total = Tally()
    for record in deps.tasks.recorded(account_id, job_id):
        if record.kind in PHASES:
            done[record.kind].add(record.number)
            total.add(record.tally)
    maps, ranges = int(job["map_tasks"]), list(job.get("ranges") or [])
    _show_progress(job, total, done, maps, len(ranges), deps)

    phase = job.get("phase", MAP)
    expected = maps if phase == MAP else len(ranges)
    missing = [n for n in range(expected) if n not in done[phase]]
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
        )
        # A job that writes announces itself on its list before its first reduce reads the list
        # (see reduce_range): other jobs reducing into it meanwhile then write on conditions.
        _next_phase(
            job,
            MAP,
            REDUCE,
            len(cut),
            deps,
            ranges=[r.to_json() for r in cut],
            reducing_into=None if options.dry_run else job["list_id"],
            resend=resend,
        )
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
            failure=job.get("plan_failure"),
            column_names=tuple(job.get("column_names") or ()),
            contacts_added=0 if options.dry_run else total.created - total.deleted,
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
    reducing_into: str | None = None,
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
        reducing_into=reducing_into,
        now=utc_now(),
    ):
        logger.info("Next phase", extra={"phase": following, "tasks": tasks})
        deps.queue.send([Task(account_id, job_id, following, n) for n in range(tasks)])
    elif resend:
        advance(account_id, job_id, deps, resend=True)


def _show_progress(
    job: dict[str, Any], total: Tally, done: dict[str, set[int]], maps: int, ranges: int, deps: PipelineDeps
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
    )


def chunk_deps() -> PipelineDeps:
    """The chunk worker's adapters, from its environment (called once per cold start)."""
    from contacts_import.service.pipeline_deps import pipeline_deps
    from contacts_import.settings import ProcessChunkSettings

    return pipeline_deps(ProcessChunkSettings.from_environment())
