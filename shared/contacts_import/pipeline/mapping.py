"""Which column feeds which contact field: explicit ``mapping`` first, then header synonyms.

Explicit choices always win; columns the user did not name are still matched automatically, and
anything that matches no field is kept in ``custom_fields`` under its header, so nothing a user
sent is dropped without saying so.
"""

from __future__ import annotations

from dataclasses import dataclass

from contacts_import.errors import InvalidOptions, MissingRequiredColumn, TooManyColumns
from contacts_import.models import ImportOptions
from contacts_import.pipeline.fields import (
    CUSTOM_PREFIX,
    IGNORE,
    PHONE,
    field_for_header,
    header_key,
    phone_priority,
)

MAX_COLUMNS = 1000
SINGLE_VALUE_FIELDS = ("name", "first_name", "last_name", "email", "company", "tags")


@dataclass(frozen=True)
class ColumnPlan:
    """The result of mapping: where each field's value comes from, by column index."""

    column_names: tuple[str, ...]
    phone_columns: tuple[int, ...]
    field_columns: dict[str, int]
    custom_columns: tuple[tuple[int, str], ...]

    @property
    def width(self) -> int:
        return len(self.column_names)

    def column_name(self, index: int) -> str:
        return self.column_names[index] if index < len(self.column_names) else f"column {index + 1}"


def plan_columns(header: list[str] | None, width: int, options: ImportOptions) -> ColumnPlan:
    """Map columns to fields. ``header`` is the file's header row, or None without one."""
    if width > MAX_COLUMNS:
        raise TooManyColumns(
            f"The file has {width} columns; at most {MAX_COLUMNS} are supported.",
            details={"columns": width, "limit": MAX_COLUMNS},
        )
    names = _column_names(header, width)
    targets = _targets(header, names, options)

    phone_columns: list[tuple[int, int]] = []
    field_columns: dict[str, int] = {}
    custom_columns: list[tuple[int, str]] = []
    for index, (target, explicit) in enumerate(targets):
        if target is None or target == IGNORE:
            continue
        if target == PHONE:
            # Explicitly mapped phone columns come first, then by synonym priority (mobile first).
            priority = -1 if explicit else phone_priority(names[index])
            phone_columns.append((priority, index))
        elif target.startswith(CUSTOM_PREFIX):
            custom_columns.append((index, target[len(CUSTOM_PREFIX) :]))
        elif target in field_columns:
            # A second column for a single-valued field keeps its data as a custom field.
            custom_columns.append((index, names[index]))
        else:
            field_columns[target] = index

    if not phone_columns:
        seen = [n for n in names if n]
        raise MissingRequiredColumn(
            "No phone column found and none mapped. Headers seen: "
            + (", ".join(repr(n) for n in seen[:50]) if seen else "(none)")
            + '. Name one with mapping, e.g. {"<header>": "phone"}.',
            details={"headers": seen[:MAX_COLUMNS]},
        )
    ordered_phones = tuple(index for _, index in sorted(phone_columns))
    return ColumnPlan(
        column_names=tuple(names),
        phone_columns=ordered_phones,
        field_columns=field_columns,
        custom_columns=tuple(custom_columns),
    )


def _column_names(header: list[str] | None, width: int) -> list[str]:
    if header is None:
        return [f"column {i + 1}" for i in range(width)]
    names = [h.replace("\ufeff", "").strip() for h in header]
    names += [f"column {i + 1}" for i in range(len(names), width)]
    return [name or f"column {i + 1}" for i, name in enumerate(names)]


def _targets(header: list[str] | None, names: list[str], options: ImportOptions) -> list[tuple[str | None, bool]]:
    """(target, explicitly chosen) for each column."""
    if options.headers is not None:
        positional = list(options.headers)
        return [(positional[i], True) if i < len(positional) else (None, False) for i in range(len(names))]

    explicit = _explicit_targets(header, names, options)
    targets: list[tuple[str | None, bool]] = []
    for index, name in enumerate(names):
        if index in explicit:
            targets.append((explicit[index], True))
        elif header is None:
            targets.append((None, False))
        else:
            field = field_for_header(name)
            targets.append((field, False) if field else (f"{CUSTOM_PREFIX}{name}", False))
    return targets


def _explicit_targets(header: list[str] | None, names: list[str], options: ImportOptions) -> dict[int, str]:
    if not options.mapping:
        return {}
    chosen: dict[int, str] = {}
    unknown: list[str] = []
    for column, target in options.mapping.items():
        index = _find_column(column, header, names)
        if index is None:
            unknown.append(column)
        else:
            chosen[index] = target
    if unknown:
        raise InvalidOptions(
            f"mapping names columns the file does not have: {', '.join(repr(u) for u in unknown)}. "
            f"Columns: {', '.join(repr(n) for n in names[:50])}.",
            details={"unknown_columns": unknown, "columns": names[:MAX_COLUMNS]},
        )
    return chosen


def _find_column(column: str, header: list[str] | None, names: list[str]) -> int | None:
    if header is None:
        # Without a header, mapping keys are 0-based column numbers.
        return int(column) if column.strip().isdigit() and int(column) < len(names) else None
    for index, name in enumerate(names):
        if name == column.strip():
            return index
    wanted = header_key(column)
    for index, name in enumerate(names):
        if header_key(name) == wanted:
            return index
    return None
