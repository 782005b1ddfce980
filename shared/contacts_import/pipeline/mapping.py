"""Which column feeds which contact field: explicit ``mapping`` first, then header synonyms.

Explicit choices always win; columns the user did not name are still matched automatically, and
anything that matches no field is kept in ``custom_fields`` under its header, so nothing a user
sent is dropped without saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from contacts_import.errors import MissingRequiredColumn, OptionsDoNotFitFile, TooManyColumns
from contacts_import.models import ImportOptions
from contacts_import.pipeline.fields import (
    CUSTOM_PREFIX,
    EMAIL,
    FIRST_NAME,
    IGNORE,
    LAST_NAME,
    MIDDLE_NAME,
    NAME,
    PHONE,
    PHONE_TYPE,
    HeaderMatch,
    classify_header,
    header_key,
)

MAX_COLUMNS = 1000


@dataclass(frozen=True)
class ColumnPlan:
    """The result of mapping: where each field's value comes from, by column index."""

    column_names: tuple[str, ...]
    phone_columns: tuple[int, ...]  # in priority order: the first non-empty one is the phone
    field_columns: dict[str, int]  # name, first_name, last_name, middle_name, company, tags
    custom_columns: tuple[tuple[int, str], ...]
    email_columns: tuple[int, ...] = ()  # in priority order, like phones
    # Google's "Phone N - Type" column for a "Phone N - Value" column: a mobile type goes first.
    phone_type_columns: dict[int, int] = field(default_factory=dict)

    @property
    def width(self) -> int:
        return len(self.column_names)

    def blankable_fields(self) -> frozenset[str]:
        """The contact fields the file has a column for, as ``on_blank=clear`` empties them when a
        row's cell is blank: ``name`` also when only first or last names are given (it is made
        from them), each custom field as ``custom:<key>``. Tags are never cleared (docs/api.md)."""
        fields: set[str] = {name for name in ("first_name", "last_name", "company") if name in self.field_columns}
        if fields & {"first_name", "last_name"} or "name" in self.field_columns:
            fields.add("name")
        if self.email_columns:
            fields.add("email")
        fields.update(f"custom:{key}" for _, key in self.custom_columns)
        return frozenset(fields)

    def column_name(self, index: int) -> str:
        return self.column_names[index] if index < len(self.column_names) else f"column {index + 1}"


def plan_file_columns(first_record: Sequence[str], options: ImportOptions) -> ColumnPlan:
    """The column plan of a file from its first record: the header, or without one the first data
    record, which gives the width (``headers`` names the columns then, and sets the width itself).

    The one rule for every reader: the planner's check of a file, every map task, and the API's
    early check of a body sent in the request all call it."""
    if options.has_header:
        width = max(len(first_record), len(options.headers or ()))
        return plan_columns(list(first_record), width, options)
    width = len(options.headers) if options.headers else len(first_record)
    return plan_columns(None, width, options)


def plan_columns(header: list[str] | None, width: int, options: ImportOptions) -> ColumnPlan:
    """Map columns to fields. ``header`` is the file's header row, or None without one."""
    if width > MAX_COLUMNS:
        raise TooManyColumns(
            f"The file has {width} columns; at most {MAX_COLUMNS} are supported.",
            details={"columns": width, "limit": MAX_COLUMNS},
        )
    names = _column_names(header, width)
    targets = _targets(header, names, options)

    ranked: dict[str, list[tuple[int, int]]] = {PHONE: [], EMAIL: []}
    type_columns: dict[str, int] = {}
    field_columns: dict[str, int] = {}
    custom_columns: list[tuple[int, str]] = []
    for index, (target, match) in enumerate(targets):
        if target is None or target == IGNORE:
            continue
        if target in ranked:
            # Explicitly mapped columns come first, then by the header's rank (mobile first).
            ranked[target].append((-1 if match is None else match.priority, index))
        elif target == PHONE_TYPE:
            if match and match.group:
                type_columns[match.group] = index
        elif target.startswith(CUSTOM_PREFIX):
            custom_columns.append((index, target[len(CUSTOM_PREFIX) :]))
        elif target in field_columns:
            # A second column for a single-valued field keeps its data as a custom field.
            custom_columns.append((index, names[index]))
        else:
            field_columns[target] = index
            if target == MIDDLE_NAME:
                custom_columns.append((index, names[index]))  # kept as well as composed into the name

    _surname_convention(field_columns, targets)
    if not ranked[PHONE]:
        seen = [n for n in names if n]
        raise MissingRequiredColumn(
            "No phone column found and none mapped. Headers seen: "
            + (", ".join(repr(n) for n in seen[:50]) if seen else "(none)")
            + '. Name one with mapping, e.g. {"<header>": "phone"}.',
            details={"headers": seen[:MAX_COLUMNS]},
        )
    phone_columns = tuple(index for _, index in sorted(ranked[PHONE]))
    groups = {index: match.group for index, (_, match) in enumerate(targets) if match and match.group}
    return ColumnPlan(
        column_names=tuple(names),
        phone_columns=phone_columns,
        field_columns=field_columns,
        custom_columns=tuple(custom_columns),
        email_columns=tuple(index for _, index in sorted(ranked[EMAIL])),
        phone_type_columns={
            index: type_columns[groups[index]] for index in phone_columns if groups.get(index) in type_columns
        },
    )


def _surname_convention(field_columns: dict[str, int], targets: list[tuple[str | None, HeaderMatch | None]]) -> None:
    """German and French sheets say "Name;Vorname" and "Nom;Prénom": beside a first-name column and
    without a last-name one, a matched name column holds the surname (and beside a last-name column
    without a first-name one, as in Spanish "Nombre;Apellidos", the given name). Explicit choices
    are left alone."""
    name_index = field_columns.get(NAME)
    if name_index is None or targets[name_index][1] is None:
        return
    if FIRST_NAME in field_columns and LAST_NAME not in field_columns:
        field_columns[LAST_NAME] = field_columns.pop(NAME)
    elif LAST_NAME in field_columns and FIRST_NAME not in field_columns:
        field_columns[FIRST_NAME] = field_columns.pop(NAME)


def _column_names(header: list[str] | None, width: int) -> list[str]:
    if header is None:
        return [f"column {i + 1}" for i in range(width)]
    names = [h.replace("\ufeff", "").strip() for h in header]
    names += [f"column {i + 1}" for i in range(len(names), width)]
    return [name or f"column {i + 1}" for i, name in enumerate(names)]


def _targets(
    header: list[str] | None, names: list[str], options: ImportOptions
) -> list[tuple[str | None, HeaderMatch | None]]:
    """(target, how the header matched) for each column; the match is None when the user chose."""
    if options.headers is not None:
        positional = list(options.headers)
        return [(positional[i], None) if i < len(positional) else (None, None) for i in range(len(names))]

    explicit = _explicit_targets(header, names, options)
    targets: list[tuple[str | None, HeaderMatch | None]] = []
    for index, name in enumerate(names):
        if index in explicit:
            targets.append((explicit[index], None))
        elif header is None:
            targets.append((None, None))
        else:
            match = classify_header(name)
            targets.append((match.field, match) if match else (f"{CUSTOM_PREFIX}{name}", None))
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
        raise OptionsDoNotFitFile(
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


def chosen_columns(plan: ColumnPlan, header: Sequence[str] | None, options: ImportOptions) -> set[int]:
    """The columns of a plan that the options name themselves (``mapping`` or ``headers``), found
    as the plan found them: the preview's columns with a chosen field."""
    if options.headers is not None:
        return set(range(min(len(options.headers), plan.width)))
    names = list(plan.column_names)
    return set(_explicit_targets(list(header) if header is not None else None, names, options))
