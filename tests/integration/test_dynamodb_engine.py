"""What the stores rely on from DynamoDB, held against DynamoDB Local itself: the limits the engine
enforces (25 items a batch, 100 actions or 4 MB a transaction, 400 KB an item), our requests kept
inside them, conditions that hold under requests sent truly in parallel (a job's creation and its
end, the leases of a list's shards), and conflicts with a transaction sent again."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from contacts_import.clock import utc_now
from contacts_import.store import dynamo
from contacts_import.store.jobs import JobEnding
from contacts_import.store.leases import ShardsBusy
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


def test_our_batches_stay_inside_the_engines_limits(pipeline: Pipeline) -> None:
    store = pipeline.deps.contacts("local", "inside", shards=4)
    contact = {"created_job_id": "job-a", "import_job_id": "job-a", "list_id": "inside"}
    phones = [f"+1212555{n:04d}" for n in range(260)]
    store.write([{**contact, "phone": phone} for phone in phones])  # batches of 25, over four shards
    assert len(store.find_existing(phones[:100])) == 100  # one BatchGetItem takes 100 keys
    assert len(store.find_existing(phones)) == 260
    store.delete(phones[:30])
    assert len(store.find_existing(phones)) == 230


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


def test_one_of_many_jobs_racing_for_a_lists_shards_takes_them(pipeline: Pipeline) -> None:
    leases = pipeline.deps.leases

    def take(n: int) -> bool:
        try:
            leases.acquire("local", "leased", f"imp_job{n}", [3, 4], now=time.time(), hold_seconds=600)
        except ShardsBusy:
            return False
        return True

    taken = in_parallel(PARALLEL, take)
    assert taken.count(True) == 1
    (winner,) = [f"imp_job{n}" for n, took in enumerate(taken) if took]
    assert leases.held_by("local", "leased", winner) == [3, 4]
    leases.release("local", "leased", winner, [3, 4])
    assert in_parallel(PARALLEL, take).count(True) == 1, "let go of, they are taken again"


def test_shards_taken_in_groups_are_all_taken_or_none(pipeline: Pipeline) -> None:
    leases = pipeline.deps.leases
    leases.acquire("local", "groups", "imp_other", [50], now=time.time(), hold_seconds=600)
    with pytest.raises(ShardsBusy) as busy:
        leases.acquire("local", "groups", "imp_mine", range(64), now=time.time(), hold_seconds=600)
    assert busy.value.held == {50: "imp_other"} and 0 < busy.value.retry_after_seconds <= 600
    assert leases.held_by("local", "groups", "imp_mine") == [], "the first group was given back"
    # Run out, a lease is anyone's: the other job died holding it.
    grant = leases.acquire("local", "groups", "imp_mine", range(64), now=time.time() + 601, hold_seconds=600)
    assert grant.shards == frozenset(range(64)) and 50 not in grant.sole_writer
    assert leases.held_by("local", "groups", "imp_other") == []


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
