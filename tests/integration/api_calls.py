"""The API handlers called as API Gateway would call them, for the integration tier: a CSV posted,
the uploads it stored delivered as S3 events, a job's status read."""

from __future__ import annotations

from tests.sample_events import api_event, body_of

SMALL = b"phone,name\n(212) 736-5000,Jane\n"


def post_csv(stack, body: bytes, content_type: str = "text/csv", **query):
    return stack.invoke(
        "CreateImportFunction",
        api_event("api_post_imports_csv.json", body=body, content_type=content_type, query=query),
    )


def run_all(stack):
    for key in stack.pending_uploads():
        stack.deliver_s3(key)


def status(stack, job_id, account_id="local"):
    return stack.invoke(
        "ImportStatusFunction",
        api_event("api_get_import.json", path_parameters={"job_id": job_id}, account_id=account_id),
    )


def import_and_finish(stack, body: bytes, **query):
    response = post_csv(stack, body, **query)
    assert response["statusCode"] == 202, response["body"]
    run_all(stack)
    return body_of(status(stack, body_of(response)["data"]["job_id"]))["data"]


def error_code(response):
    return body_of(response)["error"]["code"]
