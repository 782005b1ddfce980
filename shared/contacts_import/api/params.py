"""The parameters several routes share, as the OpenAPI document states them and as they are
checked: a value the document calls valid is never refused for its shape (only for naming nothing:
404), and one it calls invalid is 400."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

Limit = Annotated[int, Query(ge=1, le=1000, description="Page size (at most 1000).")]
# Cursors are URL-safe base64 (store.dynamo.encode_cursor): anything else is 400; one this API
# did not give out for the caller names no page, 404.
Cursor = Annotated[
    str | None,
    Query(max_length=2048, pattern=r"^[A-Za-z0-9_-]*$", description="next_cursor of the page before."),
]
# Job ids as ids.new_job_id makes them (object_keys.JOB_ID_PATTERN).
JobId = Annotated[str, Path(pattern=r"^imp_[0-9a-z]{26}$", description="The job's id.")]
# A list id (models.LIST_ID_PATTERN), its ":" and "@" perhaps still URL-encoded, as API Gateway
# may hand path parameters over.
ListId = Annotated[
    str,
    Path(pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9_.:@-]|%3[Aa]|%40){0,127}$", description="The list's id."),
]
# E.164 digits, their "+" written, URL-encoded, or lost to form encoding (a space, or nothing).
Phone = Annotated[str, Path(pattern=r"^(?:\+|%2[Bb]| |%20)?[0-9]{1,20}$", description="The contact's E.164 phone.")]
# A plan's rows of one outcome only.
PlanOutcome = Annotated[
    Literal["created", "updated", "unchanged", "skipped_existing", "skipped_duplicates", "invalid"] | None,
    Query(description="Only the rows of this outcome."),
]
