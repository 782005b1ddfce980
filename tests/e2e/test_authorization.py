"""The authorization matrix over every route of template.yaml, through the local stack over HTTP:
no key and a wrong key are 401, a key without the route's scope is 403, a key with exactly that
scope gets through, and another account's job, list, contact or account is 404 (and never shows
up); a compatibility route naming a list to import into names one of the caller's own account.

Routes come from the template (as the local stack serves them), the scope each needs from the
API's own /openapi.json: what the document promises is what the API enforces.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from urllib.parse import quote

import pytest
import requests

from contacts_import.api.importer_routes import OPEN_ROUTES
from contacts_import.auth.keys import ALL_SCOPES
from tests.e2e.jobs import wait_for_end
from tests.e2e.stack import LocalStackHandle

pytestmark = pytest.mark.e2e

PHONE = "+12127365000"
# Compatibility routes that import into a list named in the path: another account's call names a
# list of its own (docs/api.md, Compatibility), so it cannot be "not found".
OWN_LISTS = {"batch_call_id", "campaign_id"}
# Mapping profiles are named per account: another account's PUT of the name is its own profile.
OWN_NAMES = {"name"}
# The lead-data platform's API calls a missing scope insufficient_permissions (docs/api.md).
FORBIDDEN_CODES = {"/v1/import/contacts": "insufficient_permissions"}


def call(stack: LocalStackHandle, method: str, path: str, authorization: str | None) -> requests.Response:
    headers = {"Authorization": authorization} if authorization else {}
    return requests.request(method, stack.url(path), headers=headers, timeout=60)


def assert_error(response: requests.Response, status: int, code: str, context: str) -> None:
    assert response.status_code == status, f"{context}: {response.status_code} {response.text[:200]}"
    body = response.json()
    assert body["error"]["code"] == code, context
    assert response.headers["X-Request-ID"] == body["meta"]["request_id"], context


def test_every_route_refuses_missing_wrong_and_unscoped_keys_and_hides_other_accounts(
    local_stack: LocalStackHandle, make_api_key: Callable[..., str]
) -> None:
    owner, intruder = (f"authz-{who}-{uuid.uuid4().hex[:8]}" for who in ("owner", "intruder"))
    owner_key, intruder_key = make_api_key(owner), make_api_key(intruder)
    list_id = f"authz-{uuid.uuid4().hex[:8]}"
    imported = requests.post(
        local_stack.url("/imports"),
        params={"list_id": list_id, "wait": "true"},
        data=f"phone,name\n{PHONE},Owner's contact\n".encode(),
        headers={"Authorization": f"Bearer {owner_key}", "Content-Type": "text/csv"},
        timeout=60,
    )
    assert imported.status_code in (201, 202), imported.text
    job_id = imported.json()["data"]["job_id"]
    assert wait_for_end(local_stack, job_id, owner_key)["status"] == "completed"  # so that a cancel cannot change it
    values = {
        "job_id": job_id,
        "list_id": list_id,
        "phone": quote(PHONE, safe=""),
        "account": owner,
        "batch_call_id": list_id,
        "campaign_id": "1",
        "name": "authz-profile",
    }
    profile = {"mapping": {"Tel": "phone"}}
    stored = requests.put(
        local_stack.url("/mapping-profiles/authz-profile"),
        json=profile,
        headers={"Authorization": f"Bearer {owner_key}"},
        timeout=60,
    )
    assert stored.status_code == 200, stored.text
    document = call(local_stack, "GET", "/openapi.json", f"Bearer {owner_key}").json()

    # Every route but the importer's page and script, which load without a key (docs/importer.md)
    # and are tested as such in test_importer_browser.py.
    routes = [route for route in local_stack.template.routes if route.path not in OPEN_ROUTES]
    assert routes
    for route in routes:
        path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], route.path)  # KeyError: a new parameter
        label = f"{route.method} {route.path}"
        assert route.authorizer, f"{label} has no authorizer"

        assert_error(call(local_stack, route.method, path, None), 401, "unauthorized", f"{label}, no key")
        for wrong in ("Bearer cik_no-such-key", "Basic b3duZXI6cGFzcw==", "Bearer "):
            assert_error(call(local_stack, route.method, path, wrong), 401, "unauthorized", f"{label}, {wrong!r}")

        operation = document["paths"][route.path][route.method.lower()]
        (requirement,) = operation["security"]
        (needed,) = requirement.values()
        assert set(needed) <= set(ALL_SCOPES), label
        if needed:
            others = tuple(scope for scope in ALL_SCOPES if scope not in needed)
            lacking = call(local_stack, route.method, path, f"Bearer {make_api_key(owner, others)}")
            assert_error(lacking, 403, FORBIDDEN_CODES.get(route.path, "forbidden"), f"{label}, a key without {needed}")
            assert lacking.json()["error"]["details"] == {"required_scope": needed[0]}
        scoped = call(local_stack, route.method, path, f"Bearer {make_api_key(owner, tuple(needed))}")
        assert scoped.status_code not in (401, 403), f"{label}, a key with just {needed}: {scoped.text[:200]}"

        foreign = call(local_stack, route.method, path, f"Bearer {intruder_key}")
        if set(re.findall(r"\{(\w+)\}", route.path)) & (OWN_LISTS | OWN_NAMES):  # the caller's own list or name
            assert job_id not in foreign.text and PHONE not in foreign.text, f"{label}: another account's data"
        elif "{" in route.path:  # as if it did not exist
            assert_error(foreign, 404, "not_found", f"{label}, another account")
        else:  # the other account's own jobs (GET /imports), never the owner's
            assert job_id not in foreign.text and PHONE not in foreign.text, f"{label}: another account's data"

    # Nothing the other account tried changed the owner's job or list.
    assert wait_for_end(local_stack, job_id, owner_key)["status"] == "completed"
    listed = call(local_stack, "GET", f"/lists/{list_id}", f"Bearer {owner_key}").json()["data"]
    assert listed["total_contacts"] == 1
