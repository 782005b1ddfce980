"""Saved mappings: PUT and DELETE served by the create function, GET by the status function."""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import Router

from contacts_import.api.docs import answers, json_answer, json_request, option_members, requires
from contacts_import.api.envelope import DataEnvelope, PageEnvelope, data_response, page_response
from contacts_import.api.params import Cursor, Limit
from contacts_import.api.requests import raw_body
from contacts_import.api.resolver import caller, rest_event
from contacts_import.errors import InvalidOptions
from contacts_import.models import PROFILE_NAME_PATTERN, ImportOptions
from contacts_import.profiles import NOT_IN_A_PROFILE, MappingProfile
from contacts_import.service.mapping_profiles import delete_profile, get_profile, put_profile
from contacts_import.settings import EnvironmentSettings
from contacts_import.store.dynamo import dynamodb_resource
from contacts_import.store.mapping_profiles import MappingProfileStore

write_router = Router()
read_router = Router()

ProfileName = Annotated[str, Path(pattern=PROFILE_NAME_PATTERN, description="The profile's name.")]


class MappingProfileSettings(EnvironmentSettings):
    """What both functions that serve these routes have in their environment for them."""

    mapping_profiles_table: str


@cache
def store() -> MappingProfileStore:
    return MappingProfileStore(dynamodb_resource(), MappingProfileSettings.from_environment().mapping_profiles_table)


def _profile_request() -> dict[str, Any]:
    options = {
        name: schema
        for name, schema in option_members(tuple(sorted(NOT_IN_A_PROFILE))).items()
        if name in ImportOptions.model_fields
    }
    mapping = option_members()["mapping"]["anyOf"][0]
    schema = {
        "type": "object",
        "required": ["mapping"],
        "properties": {
            "mapping": {**mapping, "minProperties": 1},
            "options": {"type": "object", "properties": options, "additionalProperties": False},
        },
        "additionalProperties": False,
    }
    return json_request(schema, {"mapping": {"Mobile": "phone", "Full name": "name"}, "options": {"tags": ["nightly"]}})


@write_router.put(
    "/mapping-profiles/<name>",
    summary="Save a mapping profile (a mapping and options) under a name",
    description="The mapping names every column of the files it is for (ignore for one left out): a file "
    "whose header row holds exactly its headers takes it in the drop folder, and the preview names it. "
    "An import takes it with mapping_profile=<name>. Replaces a profile of that name.",
    responses=answers({200: json_answer("The stored profile.", DataEnvelope[MappingProfile])}, 400, 404),
    security=requires("imports:write"),
    openapi_extensions=_profile_request(),
    tags=["mapping profiles"],
)
def put_mapping_profile(name: ProfileName) -> Response[DataEnvelope[MappingProfile]]:
    event = rest_event(write_router)
    who = caller(event)
    who.require("imports:write")
    try:
        body = json.loads(raw_body(event) or b"null")
    except (ValueError, UnicodeDecodeError):
        raise InvalidOptions("The body must be a JSON object {'mapping': {...}, 'options': {...}}.") from None
    profile = put_profile(who.account_id, name, body, store())
    return data_response(event, profile.model_dump(mode="json"))


@write_router.delete(
    "/mapping-profiles/<name>",
    summary="Delete a mapping profile",
    responses=answers({200: json_answer("The deleted profile's name.", DataEnvelope[dict[str, str]])}, 400, 404),
    security=requires("imports:write"),
    tags=["mapping profiles"],
)
def delete_mapping_profile(name: ProfileName) -> Response[DataEnvelope[dict[str, str]]]:
    event = rest_event(write_router)
    who = caller(event)
    who.require("imports:write")
    delete_profile(who.account_id, name, store())
    return data_response(event, {"name": name})


@read_router.get(
    "/mapping-profiles",
    summary="The account's mapping profiles, by name",
    responses=answers({200: json_answer("A page of profiles.", PageEnvelope[MappingProfile])}, 400, 404),
    security=requires("imports:read"),
    tags=["mapping profiles"],
)
def list_mapping_profiles(limit: Limit = 100, cursor: Cursor = None) -> Response[PageEnvelope[MappingProfile]]:
    event = rest_event(read_router)
    who = caller(event)
    who.require("imports:read")
    profiles, next_cursor = store().page(who.account_id, limit, cursor)
    return page_response(event, [p.model_dump(mode="json") for p in profiles], next_cursor, limit)


@read_router.get(
    "/mapping-profiles/<name>",
    summary="One mapping profile",
    responses=answers({200: json_answer("The profile.", DataEnvelope[MappingProfile])}, 400, 404),
    security=requires("imports:read"),
    tags=["mapping profiles"],
)
def get_mapping_profile(name: ProfileName) -> Response[DataEnvelope[MappingProfile]]:
    event = rest_event(read_router)
    who = caller(event)
    who.require("imports:read")
    return data_response(event, get_profile(who.account_id, name, store()).model_dump(mode="json"))
