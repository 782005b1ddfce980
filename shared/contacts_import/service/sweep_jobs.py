"""The scheduled sweeper: nothing stays stuck.

Every run reads the jobs that have not moved for a while, oldest first, from the jobs table's sparse
index of running (or ended but unannounced) jobs:

- a job that ended but whose end was never announced (its worker died in between) is announced;
- a job quiet for ``resend_after_minutes`` gets the missing tasks of its phase sent again (a task
  whose message was lost, or sent by a worker that died before sending the next phase);
- a job quiet for ``stalled_after_minutes`` ends ``failed`` with the code ``stalled``: what it wrote
  stays, counted from its recorded tasks (a task that keeps failing has reached the chunk
  dead-letter queue by then, and its alarm).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aws_lambda_powertools import Logger

from contacts_import.errors import Stalled
from contacts_import.models import ImportOptions
from contacts_import.pipeline.tally import Tally
from contacts_import.service.job_end import announce, end_job
from contacts_import.service.pipeline_deps import PipelineDeps, pipeline_deps
from contacts_import.service.process_chunk import PHASES, advance
from contacts_import.settings import SweepJobsSettings
from contacts_import.store.jobs import JobEnding

logger = Logger(child=True)


@dataclass
class SweepReport:
    announced: int = 0
    resent: int = 0
    stalled: int = 0


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sweep(deps: PipelineDeps, *, resend_after_minutes: int, stalled_after_minutes: int, now: datetime) -> SweepReport:
    report = SweepReport()
    stalled_before = _iso(now - timedelta(minutes=stalled_after_minutes))
    for account_id, job_id in deps.jobs.quiet_since(_iso(now - timedelta(minutes=resend_after_minutes))):
        job = deps.jobs.get(account_id, job_id)
        if job is None:
            continue
        logger.append_keys(job_id=job_id, account_id=account_id)
        if job.get("ended"):
            announce(account_id, job_id, deps)
            report.announced += 1
        elif job["updated_at"] < stalled_before:
            _fail_stalled(job, stalled_after_minutes, deps)
            report.stalled += 1
        elif "plan_key" in job:
            advance(account_id, job_id, deps, resend=True)
            report.resent += 1
    logger.info("Sweep done", extra=vars(report))
    return report


def _fail_stalled(job: dict, minutes: int, deps: PipelineDeps) -> None:
    total = Tally()
    for record in deps.tasks.recorded(job["account_id"], job["job_id"]):
        if record.kind in PHASES:
            total.add(record.tally)
    stalled = Stalled(f"The import made no progress for {minutes} minutes and was stopped; what it wrote stays.")
    logger.warning("Job stalled", extra={"status": job["status"], "phase": job.get("phase")})
    dry_run = ImportOptions.model_validate(job.get("options") or {}).dry_run
    end_job(
        job,
        JobEnding(
            "failed",
            counts=total.as_counts(),
            error_count=total.invalid,
            errors_not_stored=total.errors_not_stored,
            failure={"code": stalled.code, "message": stalled.message},
            column_names=tuple(job.get("column_names") or ()),
            contacts_added=0 if dry_run else total.created - total.deleted,
        ),
        deps,
    )


def run_sweep(deps: PipelineDeps, settings: SweepJobsSettings) -> SweepReport:
    return sweep(
        deps,
        resend_after_minutes=settings.resend_after_minutes,
        stalled_after_minutes=settings.stalled_after_minutes,
        now=datetime.now(UTC),
    )


def sweep_deps() -> tuple[PipelineDeps, SweepJobsSettings]:
    settings = SweepJobsSettings.from_environment()
    return pipeline_deps(settings), settings
