"""Matches a request path and method to a template route, as API Gateway's resource tree does.

A literal segment beats a ``{param}`` segment, which beats a greedy ``{param+}``: POST
/imports/uploads is the upload route even though /imports/{job_id}/... exists. The most specific
resource that matches the path decides; a method it lacks is "method not allowed" (API Gateway
does not fall back to a less specific resource). Path parameters arrive URL-decoded, as in AWS.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from local_stack.template import ApiRoute

_LITERAL, _PARAMETER, _GREEDY = 0, 1, 2


@dataclass(frozen=True)
class RouteMatch:
    route: ApiRoute
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class MethodNotAllowed:
    api_id: str
    resource_path: str
    allowed_methods: tuple[str, ...]


@dataclass(frozen=True)
class _Segment:
    kind: int
    text: str  # the literal, or the parameter's name


def _parse(resource_path: str) -> tuple[_Segment, ...]:
    segments = []
    for part in resource_path.strip("/").split("/") if resource_path.strip("/") else []:
        if part.startswith("{") and part.endswith("+}"):
            segments.append(_Segment(_GREEDY, part[1:-2]))
        elif part.startswith("{") and part.endswith("}"):
            segments.append(_Segment(_PARAMETER, part[1:-1]))
        else:
            segments.append(_Segment(_LITERAL, part))
    return tuple(segments)


def split_request_path(raw_path: str) -> list[str]:
    """The raw (still percent-encoded) segments of a request path; one trailing slash is ignored."""
    trimmed = raw_path.strip("/") if raw_path != "/" else ""
    return trimmed.split("/") if trimmed else []


class RouteTable:
    """The routes of the template, indexed by resource path."""

    def __init__(self, routes: Iterable[ApiRoute]) -> None:
        self._by_resource: dict[str, dict[str, ApiRoute]] = {}
        for route in routes:
            methods = self._by_resource.setdefault(route.path, {})
            if route.method in methods:
                existing = methods[route.method]
                raise ValueError(
                    f"{route.method} {route.path} is declared twice: "
                    f"{existing.function_id}.{existing.event_id} and {route.function_id}.{route.event_id}"
                )
            methods[route.method] = route
        self._resources = [(_parse(path), path) for path in self._by_resource]

    @property
    def resource_paths(self) -> list[str]:
        return list(self._by_resource)

    def has_path(self, raw_path: str) -> bool:
        return self._best_resource(split_request_path(raw_path)) is not None

    def match(self, method: str, raw_path: str) -> RouteMatch | MethodNotAllowed | None:
        """The route for a request, ``MethodNotAllowed`` when only the method is wrong, else None."""
        segments = split_request_path(raw_path)
        best = self._best_resource(segments)
        if best is None:
            return None
        resource_path, parameters = best
        methods = self._by_resource[resource_path]
        route = methods.get(method.upper()) or methods.get("ANY")
        if route is None:
            api_id = next(iter(methods.values())).api_id
            return MethodNotAllowed(api_id, resource_path, tuple(sorted(methods)))
        return RouteMatch(route, parameters)

    def _best_resource(self, segments: list[str]) -> tuple[str, dict[str, str]] | None:
        best: tuple[tuple[int, ...], str, dict[str, str]] | None = None
        for parsed, resource_path in self._resources:
            matched = _match_segments(parsed, segments)
            if matched is None:
                continue
            rank, parameters = matched
            if best is None or rank < best[0]:
                best = (rank, resource_path, parameters)
        return (best[1], best[2]) if best else None


def _match_segments(parsed: tuple[_Segment, ...], segments: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
    parameters: dict[str, str] = {}
    rank: list[int] = []
    for index, segment in enumerate(parsed):
        if segment.kind == _GREEDY:
            rest = segments[index:]
            if not rest:
                return None
            parameters[segment.text] = unquote("/".join(rest))
            rank.append(_GREEDY)
            return tuple(rank), parameters
        if index >= len(segments):
            return None
        value = segments[index]
        if segment.kind == _LITERAL:
            if unquote(value) != segment.text:
                return None
        else:
            if not value:
                return None
            parameters[segment.text] = unquote(value)
        rank.append(segment.kind)
    if len(segments) != len(parsed):
        return None
    return tuple(rank), parameters
