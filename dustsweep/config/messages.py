"""pydantic's validation errors as ONE line: the field path and what is wrong, in plain words."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from dustsweep.config.schema import EXAMPLE_FILE_NAME, SECRET_FIELDS, AccountConfig, Config, show


def _location(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def first_error(exc: ValidationError) -> str:
    """The first problem, as "<field path>: <what is wrong>", plus how many more there are
    (one line: fixing one at a time is how people edit config files anyway)."""
    errors = exc.errors(include_url=False)
    # A misspelt key also makes its real field "missing": the typo is the useful report.
    errors.sort(key=lambda error: error["type"] != "extra_forbidden")
    first = _describe(errors[0])
    more = len(errors) - 1
    if more:
        first += f" (and {more} more problem{'s' if more > 1 else ''})"
    return first


def _describe(error: Any) -> str:
    loc: tuple[int | str, ...] = tuple(error["loc"])
    kind: str = error["type"]
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    where = _location(loc)
    prefix = f"{where}: " if where else ""
    secret = bool(loc) and loc[-1] in SECRET_FIELDS
    got = "" if secret else f" (got {show(error.get('input'))})"
    return prefix + _what_is_wrong(kind, error, loc, got)


_SIMPLE_MESSAGES = {
    "string_type": "must be a string",
    "string_sub_type": "must be a string",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "dict_type": "must be a table",
    "path_type": "must be a file path",
}


def _what_is_wrong(kind: str, error: Any, loc: tuple[int | str, ...], got: str) -> str:
    ctx = error.get("ctx") or {}
    if kind in _SIMPLE_MESSAGES:
        return _SIMPLE_MESSAGES[kind] + got
    if kind == "dustsweep":
        return str(error["msg"])
    if kind == "missing":
        if loc == ("accounts",):
            return f"missing; add at least one [[accounts]] table (see {EXAMPLE_FILE_NAME})"
        return "missing (required)"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "one of the allowed values")).replace("'", '"')
        return f"must be {expected}{got}"
    if kind in {"greater_than_equal", "greater_than", "less_than_equal", "less_than"}:
        return _bound_message(kind, ctx) + got
    if kind in {"list_type", "tuple_type"}:
        if loc == ("accounts",):
            return "must be an array of tables: write [[accounts]], not [accounts]"
        return f'must be an array, e.g. ["BNB"]{got}'
    return f"{str(error['msg']).rstrip('.').lower()}{got}"


def _bound_message(kind: str, ctx: Mapping[str, object]) -> str:
    words = {
        "greater_than_equal": ("ge", "must be at least"),
        "greater_than": ("gt", "must be more than"),
        "less_than_equal": ("le", "must be at most"),
        "less_than": ("lt", "must be less than"),
    }
    key, phrase = words[kind]
    bound = ctx.get(key)
    if isinstance(bound, float) and bound.is_integer():
        bound = int(bound)
    return f"{phrase} {bound}"


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    key = str(loc[-1])
    parent = loc[:-1]
    known: Sequence[str]
    if parent and parent[0] == "accounts":
        known = list(AccountConfig.model_fields)
    else:
        known = list(Config.model_fields)
    hint = difflib.get_close_matches(key, known, n=1)
    where = _location(parent)
    prefix = f"{where}: " if where else ""
    suggestion = f' (did you mean "{hint[0]}"?)' if hint else ""
    return f'{prefix}unknown key "{key}"{suggestion}'
