"""The reduce task's loop: a range's runs merged, each phone's first valid row decided against the
list, the writes sent in batches. The caller holds the range's shards (``store.leases``): nobody
else writes these contacts between a batch's read and its write, so a batch is decided from a read
and written blind.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from itertools import groupby

from contacts_import.models import ImportOptions
from contacts_import.pipeline.journal import plan_entries, undo_entries
from contacts_import.pipeline.normalize import ContactDraft
from contacts_import.pipeline.outcomes import Decision, RunContext, decide
from contacts_import.pipeline.shards import LEGACY, contact_key, shard_of
from contacts_import.pipeline.stores import ChangeJournal, ContactRepository, ExistingContact
from contacts_import.pipeline.tally import Tally

# A BatchGetItem takes at most 100 keys: winners are decided 100 at a time.
DECIDE_BATCH = 100


def first_occurrences(
    runs: Iterable[Iterable[ContactDraft]], shards: int = LEGACY
) -> Iterator[tuple[ContactDraft, list[ContactDraft]]]:
    """Each phone's first valid row over all runs (each in contact-key order), with the later rows
    that repeat it."""
    merged = heapq.merge(*runs, key=lambda draft: (contact_key(draft.phone, shards), draft.row))
    for _, group in groupby(merged, key=lambda draft: draft.phone):
        first = next(group)
        yield first, list(group)  # noqa: B031 (the rest of the group, once)


def interleaved_first_occurrences(
    runs: Iterable[Iterable[ContactDraft]], shards: int = LEGACY
) -> Iterator[tuple[ContactDraft, list[ContactDraft]]]:
    """``first_occurrences`` of a range, taken from its shards in turn: a range of several shards
    then writes every batch over all of them at once (each shard is a partition key with a write
    limit of its own), instead of one shard after another."""
    if shards <= 1:
        yield from first_occurrences(runs, shards)
        return
    slices: dict[int, list[list[ContactDraft]]] = {}
    for run in runs:
        for shard, drafts in groupby(run, key=lambda draft: shard_of(draft.phone, shards)):
            slices.setdefault(shard, []).append(list(drafts))
    streams = [first_occurrences(slices[shard], shards) for shard in sorted(slices)]
    while streams:
        still = []
        for stream in streams:
            taken = next(stream, None)
            if taken is not None:
                yield taken
                still.append(stream)
        streams = still


def reduce_range(
    runs: Iterable[Iterable[ContactDraft]],
    contacts: ContactRepository,
    options: ImportOptions,
    context: RunContext,
    *,
    shards: int = LEGACY,
    stop: Callable[[], bool] = lambda: False,
    check_every: int = 20,
    journal: ChangeJournal | None = None,
) -> tuple[Tally, bool]:
    """Decide every phone of a range and write what is to be written; the tally, and whether it
    stopped early. ``stop`` is asked every ``check_every`` batches (a cancelled job stops): the tally
    then counts what was decided and written so far. The caller holds the range's shards: nobody
    else writes these contacts between a batch's read and its write.

    ``journal`` records each batch's entries (``pipeline.journal``) before its contacts are written:
    a dry run's plan, or an import's before-images."""
    tally = Tally()
    pending: list[ContactDraft] = []
    repeated: list[ContactDraft] = []
    batches = 0
    for first, repeats in interleaved_first_occurrences(runs, shards):
        tally.skipped_duplicates += len(repeats)
        pending.append(first)
        if journal is not None and options.dry_run:
            repeated.extend(repeats)
        if len(pending) >= DECIDE_BATCH:
            _decide(pending, repeated, contacts, options, context, tally, journal)
            pending, repeated = [], []
            batches += 1
            if batches % check_every == 0 and stop():
                return tally, True
    if pending:
        _decide(pending, repeated, contacts, options, context, tally, journal)
    return tally, False


def _decide(
    drafts: list[ContactDraft],
    repeated: list[ContactDraft],
    contacts: ContactRepository,
    options: ImportOptions,
    context: RunContext,
    tally: Tally,
    journal: ChangeJournal | None,
) -> None:
    existing = contacts.find_existing([draft.phone for draft in drafts])
    decisions = [_decision(draft, existing.get(draft.phone), options, context) for draft in drafts]
    if journal is not None:
        entries = plan_entries(decisions, repeated) if options.dry_run else undo_entries(decisions)
        if entries:
            journal.record(entries)  # before the writes: no crash leaves a change unrecorded
    writes = [decision.write for decision in decisions if decision.write is not None]
    if writes and not options.dry_run:
        contacts.write(writes)
    for decision in decisions:
        tally.count(decision.outcome)


def _decision(
    draft: ContactDraft, existing: ExistingContact | None, options: ImportOptions, context: RunContext
) -> Decision:
    return decide(
        draft,
        existing,
        job_id=context.job_id,
        on_existing=options.on_existing,
        list_id=context.list_id,
        now=context.now,
        build_items=not options.dry_run,  # a dry run writes nothing: its items would be thrown away
        clear=context.clear,
    )
