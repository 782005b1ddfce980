"""What recording changes costs: the same update of N stored contacts by the engine's reduce
(``pipeline.reduce.reduce_range``) against DynamoDB Local, without and with the change journal
(``store.change_journal``), and a dry run's plan; write units as DynamoDB reports them consumed, and
seconds, each scaled to 100,000 rows. A new list's import journals nothing (a created contact
names its job itself), so only updates and plans are measured.

    .venv/bin/python -m benchmarks.journal [ROWS]      (default 20,000)
"""

from __future__ import annotations

import os
import sys
import time

import boto3

from benchmarks.stack import ROOT
from contacts_import.models import ImportOptions
from contacts_import.pipeline.normalize import ContactDraft
from contacts_import.pipeline.outcomes import RunContext
from contacts_import.pipeline.reduce import reduce_range
from contacts_import.store.change_journal import ChangeJournalStore
from contacts_import.store.contacts import ContactStore
from contacts_import.store.dynamo import dynamodb_fast_client, dynamodb_resource
from contacts_import.store.metering import metered
from local_stack.dynamodb_local import DynamoDbLocal
from local_stack.template import LocalAccount, load_template

PER = 100_000


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    template = load_template(ROOT / "template.yaml", account=LocalAccount(stack_name="contacts-import-journal"))
    with DynamoDbLocal() as engine:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = engine.endpoint
        client = boto3.client("dynamodb", endpoint_url=engine.endpoint)
        for table in template.tables.values():
            client.create_table(**table.create_table_request())
        names = template.table_names()
        contacts = ContactStore(
            dynamodb_resource(), names["ContactsTable"], "bench", "journal", dynamodb_fast_client(), shards=1
        )
        phones = [f"+1212{n:07d}" for n in range(rows)]
        contacts.write([{"phone": p, "name": f"A {p}", "created_job_id": "a", "import_job_id": "a"} for p in phones])
        print(f"{rows:,} contacts stored; each pass changes every one's name\n")
        print(f"{'pass':<34} {'write units':>12} {'seconds':>8} {'WU/100k':>10} {'s/100k':>8}")
        figures = {}
        for label, job_id, journal, dry_run in (
            ("update, no journal", "b", False, False),
            ("update, with the journal", "c", True, False),
            ("dry run (the plan)", "d", True, True),
        ):
            drafts = [ContactDraft(row=n + 2, phone=p, name=f"{job_id} {p}") for n, p in enumerate(phones)]
            options = ImportOptions(on_existing="update", dry_run=dry_run)
            context = RunContext(job_id, "journal", "2026-12-02T00:00:00.000Z")
            store = ChangeJournalStore(dynamodb_fast_client(), names["RowErrorsTable"], "bench", job_id, 1)
            started = time.perf_counter()
            with metered() as consumed:
                reduce_range([drafts], contacts, options, context, shards=1, journal=store if journal else None)
            seconds = time.perf_counter() - started
            figures[label] = (consumed.write_units, seconds)
            scale = PER / rows
            print(
                f"{label:<34} {consumed.write_units:>12,.0f} {seconds:>8.1f} "
                f"{consumed.write_units * scale:>10,.0f} {seconds * scale:>8.1f}"
            )
        (plain_units, plain_s), (with_units, with_s) = (
            figures["update, no journal"],
            figures["update, with the journal"],
        )
        print(
            f"\nthe journal of an update: +{(with_units - plain_units) * PER / rows:,.0f} write units and "
            f"+{(with_s - plain_s) * PER / rows:.1f} s per 100,000 updated rows "
            f"({with_units / plain_units:.2f}x the units, {with_s / plain_s:.2f}x the time)"
        )


if __name__ == "__main__":
    main()
