"""What the stores rely on from DynamoDB, held against DynamoDB Local itself: the limits the engine
enforces (25 items a batch, 100 actions or 4 MB a transaction, 400 KB an item), our requests kept
inside them, conditions that hold under requests sent truly in parallel, and conflicts with a
transaction sent again."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from contacts_import.clock import utc_now
from contacts_import.pipeline.normalize import MAX_CONTACT_BYTES
from contacts_import.pipeline.outcomes import GuardedWrite
from contacts_import.store import dynamo
from contacts_import.store.jobs import JobEnding
from tests.integration.pipeline import Pipeline

PARALLEL = 8


@pytest.fixture
def pipeline(stack) -> Pipeline:
    return Pipeline(stack)


def engine_refuses(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"]


def contact_item(list_key: str, n: int, name_bytes: int = 0) -> dict[str, Any]:
    item = {"list_key": {"S": list_key}, "phone": {"S": f"+1212555{n:04d}"}}
    if name_bytes:
        item["name"] = {"S": "x" * name_bytes}
    return item


def test_the_engine_refuses_what_aws_refuses(pipeline: Pipeline) -> None:
    client, table = pipeline.deps.dynamodb_client, pipeline.deps.settings.contacts_table
    tables = client.list_tables()["TableNames"]
    assert table in tables and "Jetty" in client.list_tables()["ResponseMetadata"]["HTTPHeaders"]["server"]

    batch = [{"PutRequest": {"Item": contact_item("local#limits", n)}} for n in range(26)]
    assert engine_refuses(lambda: client.batch_write_item(RequestItems={table: batch})) == "ValidationException"
    actions = [{"Put": {"TableName": table, "Item": contact_item("local#limits", n)}} for n in range(101)]
    assert engine_refuses(lambda: client.transact_write_items(TransactItems=actions)) == "ValidationException"
    heavy = [{"Put": {"TableName": table, "Item": contact_item("local#limits", n, 370 * 1024)}} for n in range(12)]
    assert engine_refuses(lambda: client.transact_write_items(TransactItems=heavy)) == "ValidationException"
    too_big = contact_item("local#limits", 1, 401 * 1024)
    assert engine_refuses(lambda: client.put_item(TableName=table, Item=too_big)) == "ValidationException"
    assert "Item" not in client.get_item(TableName=table, Key=contact_item("local#limits", 1))


def test_our_batches_and_transactions_stay_inside_the_engines_limits(pipeline: Pipeline) -> None:
    store = pipeline.deps.contacts("local", "inside")
    contact = {"created_job_id": "job-a", "import_job_id": "job-a", "list_id": "inside"}
    store.write([{**contact, "phone": f"+1212555{n:04d}"} for n in range(60)])  # three batches, not one of 60
    writes = [GuardedWrite({**contact, "phone": f"+1213555{n:04d}"}, None) for n in range(250)]
    assert store.write_unless_changed(writes) == set()  # transactions of at most 100
    # Twelve contacts near the largest a row may make are over 4 MB together: cut by size.
    name = "x" * (MAX_CONTACT_BYTES - 2048)
    heavy = [GuardedWrite({**contact, "phone": f"+1214555{n:04d}", "name": name}, None) for n in range(12)]
    assert len(name) * len(heavy) > 4 * 1024 * 1024, "more than the engine takes in one transaction"
    assert store.write_unless_changed(heavy) == set()
    phones = [f"+1212555{n:04d}" for n in range(60)] + [f"+1213555{n:04d}" for n in range(250)]
    assert len(store.find_existing(phones)) == 310
    assert len(store.find_existing([w.item["phone"] for w in heavy])) == 12


def in_parallel(count: int, work: Callable[[int], Any]) -> list[Any]:
    """``work(0)`` ... ``work(count - 1)`` in threads released at the same moment; their answers."""
    start = threading.Barrier(count)
    answers: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        start.wait()
        try:
            answers[index] = work(index)
        except BaseException as error:  # collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return answers


def test_a_condition_holds_for_exactly_one_of_many_parallel_writers(pipeline: Pipeline) -> None:
    jobs = pipeline.deps.jobs
    job = {"account_id": "local", "job_id": "imp_race", "status": "processing", "list_id": "race"}
    created = in_parallel(PARALLEL, lambda n: jobs.create({**job, "writer": n}))
    assert created.count(True) == 1

    ending = JobEnding(status="completed", contacts_added=5)
    finished = in_parallel(PARALLEL, lambda n: jobs.finish("local", "imp_race", "race", ending, now=utc_now()))
    assert finished.count(True) == 1
    assert pipeline.deps.lists.total_contacts("local", "race") == 5, "the list's size moved once"


def test_jobs_ending_on_one_list_in_parallel_each_move_its_size_once(pipeline: Pipeline) -> None:
    jobs = pipeline.deps.jobs
    for n in range(PARALLEL):
        jobs.create({"account_id": "local", "job_id": f"imp_end{n}", "status": "processing", "list_id": "ends"})
    ending = JobEnding(status="completed", contacts_added=3)
    assert (
        in_parallel(PARALLEL, lambda n: jobs.finish("local", f"imp_end{n}", "ends", ending, now=utc_now()))
        == [True] * PARALLEL
    )
    totals = sorted(int(jobs.get("local", f"imp_end{n}")["total_contacts"]) for n in range(PARALLEL))
    assert totals == [3 * (n + 1) for n in range(PARALLEL)], "each job saw the list's size at its own end"
    assert pipeline.deps.lists.total_contacts("local", "ends") == 3 * PARALLEL


def test_guarded_writers_racing_for_the_same_phones_each_write_a_phone_once(pipeline: Pipeline) -> None:
    store = pipeline.deps.contacts("local", "racing")

    def writer(n: int) -> set[str]:
        contact = {"created_job_id": f"job-{n}", "import_job_id": f"job-{n}", "list_id": "racing"}
        return store.write_unless_changed(
            [GuardedWrite({**contact, "phone": f"+1212555{p:04d}"}, None) for p in range(150)]
        )

    refused = in_parallel(PARALLEL, writer)
    # Every phone was written by exactly one writer; every other writer was told it had changed.
    written = {n: 150 - len(phones) for n, phones in enumerate(refused)}
    assert sum(written.values()) == 150
    stored = store.find_existing([f"+1212555{p:04d}" for p in range(150)])
    by_creator: dict[str, int] = {}
    for contact in stored.values():
        by_creator[contact.created_job_id] = by_creator.get(contact.created_job_id, 0) + 1
    assert by_creator == {f"job-{n}": count for n, count in written.items() if count}


class ConflictingDynamoDb(http.server.BaseHTTPRequestHandler):
    """Answers the first requests as DynamoDB does when they meet another transaction, then OK."""

    answers: list[tuple[int, dict[str, Any]]] = []
    seen: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append(self.headers["X-Amz-Target"].split(".")[-1])
        status, body = self.answers[min(len(self.seen), len(self.answers)) - 1]
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        return None


def cancelled(*reasons: str) -> tuple[int, dict[str, Any]]:
    return 400, {
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "message": "Transaction cancelled",
        "CancellationReasons": [{"Code": reason} for reason in reasons],
    }


CONFLICT = (400, {"__type": "com.amazonaws.dynamodb.v20120810#TransactionConflictException", "message": "x"})


@pytest.mark.parametrize(
    ("answers", "operation", "sent", "outcome"),
    [
        ([CONFLICT, CONFLICT, (200, {})], "update_item", 3, "written"),
        ([cancelled("None", "TransactionConflict"), (200, {})], "transact_write_items", 2, "written"),
        ([cancelled("ConditionalCheckFailed", "TransactionConflict")], "transact_write_items", 1, "refused"),
        ([cancelled("ConditionalCheckFailed", "None")], "transact_write_items", 1, "refused"),
    ],
    ids=["single write", "transaction", "a condition failed too", "a condition failed"],
)
def test_a_request_refused_only_for_a_conflict_is_sent_again(
    monkeypatch: pytest.MonkeyPatch, answers: list, operation: str, sent: int, outcome: str
) -> None:
    monkeypatch.setattr(ConflictingDynamoDb, "answers", answers)
    monkeypatch.setattr(ConflictingDynamoDb, "seen", [])
    sleeps: list[float] = []
    monkeypatch.setattr("time.sleep", sleeps.append)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ConflictingDynamoDb)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{server.server_address[1]}")
    try:
        client = dynamo.dynamodb_fast_client()
        key = {"list_key": {"S": "a#b"}, "phone": {"S": "+12125550000"}}
        if operation == "update_item":
            call = lambda: client.update_item(TableName="t", Key=key, UpdateExpression="SET n = :n")  # noqa: E731
        else:
            update = {"Update": {"TableName": "t", "Key": key, "UpdateExpression": "SET n = :n"}}
            call = lambda: client.transact_write_items(TransactItems=[update, update])  # noqa: E731
        if outcome == "written":
            call()
        else:
            assert engine_refuses(call) == "TransactionCanceledException"
    finally:
        server.shutdown()
    assert len(ConflictingDynamoDb.seen) == sent
    assert len(sleeps) == sent - 1 and all(0 <= s <= 5 for s in sleeps)
