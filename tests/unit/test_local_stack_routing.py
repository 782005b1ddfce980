"""Route matching of the local gateway: API Gateway's precedence of literal over parameter segments."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_stack.api_routing import MethodNotAllowed, RouteMatch, RouteTable
from local_stack.template import ApiRoute, load_template

ROOT = Path(__file__).resolve().parents[2]


def _route(method: str, path: str, function_id: str = "Fn") -> ApiRoute:
    return ApiRoute("Api", path, method, function_id, f"{method}{path}", None)


@pytest.fixture
def table() -> RouteTable:
    return RouteTable(
        [
            _route("POST", "/imports", "Create"),
            _route("GET", "/imports", "List"),
            _route("POST", "/imports/uploads", "Upload"),
            _route("GET", "/imports/{job_id}", "Get"),
            _route("POST", "/imports/{job_id}/cancel", "Cancel"),
            _route("GET", "/lists/{list_id}/contacts/{phone}", "Contact"),
            _route("ANY", "/files/{path+}", "Files"),
            _route("GET", "/", "Root"),
        ]
    )


def _matched(result: object) -> RouteMatch:
    assert isinstance(result, RouteMatch), result
    return result


def test_literal_segment_beats_parameter(table: RouteTable) -> None:
    assert _matched(table.match("POST", "/imports/uploads")).route.function_id == "Upload"
    cancel = _matched(table.match("POST", "/imports/imp_1/cancel"))
    assert (cancel.route.function_id, cancel.path_parameters) == ("Cancel", {"job_id": "imp_1"})


def test_trailing_slash_is_tolerated(table: RouteTable) -> None:
    assert _matched(table.match("GET", "/imports/")).route.function_id == "List"
    assert _matched(table.match("GET", "/")).route.function_id == "Root"


def test_path_parameters_are_url_decoded(table: RouteTable) -> None:
    match = _matched(table.match("GET", "/lists/my%20list/contacts/%2B14155552671"))
    assert match.path_parameters == {"list_id": "my list", "phone": "+14155552671"}


def test_greedy_parameter_takes_the_rest_and_any_method(table: RouteTable) -> None:
    match = _matched(table.match("DELETE", "/files/a/b%2Fc.txt"))
    assert (match.route.function_id, match.path_parameters) == ("Files", {"path": "a/b/c.txt"})
    assert table.match("GET", "/files") is None


def test_unknown_path_and_wrong_method(table: RouteTable) -> None:
    assert table.match("GET", "/nothing/here") is None
    assert table.match("GET", "/imports/a/b/c") is None
    wrong = table.match("DELETE", "/imports")
    assert isinstance(wrong, MethodNotAllowed)
    assert wrong.allowed_methods == ("GET", "POST")
    # The most specific resource decides; API Gateway does not fall back to /imports/{job_id}.
    assert isinstance(table.match("GET", "/imports/uploads"), MethodNotAllowed)


def test_method_is_case_insensitive(table: RouteTable) -> None:
    assert _matched(table.match("get", "/imports")).route.function_id == "List"


def test_a_route_declared_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        RouteTable([_route("GET", "/a", "One"), _route("GET", "/a", "Two")])


def test_project_routes() -> None:
    """The template's own POST /imports/uploads and POST /imports/{job_id}/cancel do not collide."""
    table = RouteTable(load_template(ROOT / "template.yaml").routes)
    upload = _matched(table.match("POST", "/imports/uploads"))
    cancel = _matched(table.match("POST", "/imports/uploads/cancel"))
    assert upload.route.path == "/imports/uploads"
    assert (cancel.route.path, cancel.path_parameters) == ("/imports/{job_id}/cancel", {"job_id": "uploads"})
