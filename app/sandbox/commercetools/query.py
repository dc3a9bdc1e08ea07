"""Query parameters of commercetools' query endpoints: where/var.*, sort, limit, offset, withTotal, expand.

Validation follows the documented limits (`limit` ≤ 500, `offset` ≤ 10 000) and answers violations with
400 `InvalidInput`, which `@labdigital/commercetools-mock` does not; sort is applied (the mock ignores it)
and `withTotal=false` really omits `total`.
"""

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, NamedTuple

import msgspec

from app.sandbox.commercetools.errors import invalid_input, malformed_parameter
from app.sandbox.commercetools.predicates import (
    Predicate,
    PredicateInputError,
    PredicateSyntaxError,
    bind_variables,
    evaluate,
    parse_predicate,
)

JsonObject = dict[str, Any]
Resolver = Callable[[str, str], JsonObject | None]

DEFAULT_LIMIT: Final = 20
MAX_LIMIT: Final = 500
MAX_OFFSET: Final = 10_000

_SORT: Final = re.compile(r"^\s*([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)\s+(asc|desc)\s*$")
_EXPANSION_SEGMENT: Final = re.compile(r"^([A-Za-z_]\w*)(?:\[(\*|\d+)\])?$")


class SortKey(NamedTuple):
    path: tuple[str, ...]
    descending: bool


class ExpansionStep(NamedTuple):
    field: str
    selector: str | None  # "*", a position, or None for a plain field


class QueryRequest(NamedTuple):
    where: tuple[Predicate, ...]
    sort: tuple[SortKey, ...]
    limit: int
    offset: int
    with_total: bool
    expand: tuple[tuple[ExpansionStep, ...], ...]


def _integer(name: str, values: list[str], default: int, maximum: int) -> int:
    if not values:
        return default
    text = values[-1]
    if not (text.isascii() and text.isdigit()):
        raise malformed_parameter(name, f"Invalid int '{text}'.")
    value = int(text)
    if value > maximum:
        raise invalid_input(f"The value '{value}' for the parameter '{name}' exceeds the maximum of {maximum}.")
    return value


def parse_expansions(values: Iterable[str]) -> tuple[tuple[ExpansionStep, ...], ...]:
    """Parse `expand` values; paths that cannot name a reference are dropped, as unknown ones are."""
    paths = []
    for value in values:
        steps = []
        for segment in value.split("."):
            match = _EXPANSION_SEGMENT.match(segment.strip())
            if match is None:
                break
            steps.append(ExpansionStep(match.group(1), match.group(2)))
        else:
            if steps:
                paths.append(tuple(steps))
    return tuple(paths)


def parse_query(pairs: Sequence[tuple[str, str]]) -> QueryRequest:
    """Read a query endpoint's parameters. Raises `CommercetoolsError` (400 InvalidInput)."""
    grouped: dict[str, list[str]] = {}
    variables: dict[str, list[str]] = {}
    for name, value in pairs:
        if name.startswith("var."):
            variables.setdefault(name[4:], []).append(value)
        else:
            grouped.setdefault(name, []).append(value)

    where: list[Predicate] = []
    for text in grouped.get("where", []):
        try:
            where.append(bind_variables(parse_predicate(text), variables))
        except PredicateSyntaxError as error:
            raise malformed_parameter("where", str(error)) from None
        except PredicateInputError as error:
            raise invalid_input(str(error)) from None

    sort = []
    for text in grouped.get("sort", []):
        match = _SORT.match(text)
        if match is None:
            raise malformed_parameter("sort", f"Invalid sort expression '{text}'. Expected '<field> asc|desc'.")
        sort.append(SortKey(tuple(match.group(1).split(".")), match.group(2) == "desc"))

    with_total_values = grouped.get("withTotal", [])
    with_total_text = with_total_values[-1] if with_total_values else "true"
    if with_total_text not in ("true", "false"):
        raise malformed_parameter("withTotal", f"Invalid boolean '{with_total_text}'.")

    return QueryRequest(
        where=tuple(where),
        sort=tuple(sort),
        limit=_integer("limit", grouped.get("limit", []), DEFAULT_LIMIT, MAX_LIMIT),
        offset=_integer("offset", grouped.get("offset", []), 0, MAX_OFFSET),
        with_total=with_total_text == "true",
        expand=parse_expansions(grouped.get("expand", [])),
    )


def _value_at(resource: JsonObject, path: tuple[str, ...]) -> object:
    node: object = resource
    for field in path:
        if not isinstance(node, dict):
            return None
        node = node.get(field)
    return node


def _sort_key(path: tuple[str, ...], descending: bool) -> Callable[[JsonObject], tuple[int, int, Any]]:
    def key(resource: JsonObject) -> tuple[int, int, Any]:
        value = _value_at(resource, path)
        # Missing values go last in both directions; a rank per type keeps mixed values comparable.
        missing_rank = 0 if descending else 1
        if value is None or isinstance(value, dict | list):
            return (missing_rank, 0, 0)
        if isinstance(value, bool):
            return (1 - missing_rank, 0, value)
        if isinstance(value, int | float):
            return (1 - missing_rank, 1, value)
        return (1 - missing_rank, 2, str(value))

    return key


def run_query(resources: Iterable[JsonObject], query: QueryRequest, resolve: Resolver) -> JsonObject:
    """Filter, sort, page and expand, and shape the PagedQueryResponse."""
    matches = [resource for resource in resources if all(evaluate(predicate, resource) for predicate in query.where)]
    for sort_key in reversed(query.sort):
        matches.sort(key=_sort_key(sort_key.path, sort_key.descending), reverse=sort_key.descending)
    page = matches[query.offset : query.offset + query.limit]
    body: JsonObject = {"limit": query.limit, "offset": query.offset, "count": len(page)}
    if query.with_total:
        body["total"] = len(matches)
    body["results"] = [expand(resource, query.expand, resolve) for resource in page]
    return body


def expand(resource: JsonObject, paths: Sequence[tuple[ExpansionStep, ...]], resolve: Resolver) -> JsonObject:
    """A copy of `resource` with each Reference on `paths` carrying the referenced resource as `obj`.

    Only References with an `id` expand; KeyReferences such as `store` stay as they are, like the real
    API. Paths that lead nowhere are ignored.
    """
    if not paths:
        return resource
    copy: JsonObject = msgspec.json.decode(msgspec.json.encode(resource))
    for path in paths:
        _expand_path(copy, path, resolve)
    return copy


def _expand_path(node: object, path: Sequence[ExpansionStep], resolve: Resolver) -> None:
    if not path or not isinstance(node, dict):
        return
    step, rest = path[0], path[1:]
    value = node.get(step.field)
    targets: list[object]
    if step.selector is None:
        targets = [value]
    elif not isinstance(value, list):
        return
    elif step.selector == "*":
        targets = list(value)
    else:
        position = int(step.selector)
        targets = [value[position]] if position < len(value) else []
    for target in targets:
        if rest:
            _expand_path(target, rest, resolve)
        elif isinstance(target, dict) and isinstance(target.get("typeId"), str) and isinstance(target.get("id"), str):
            found = resolve(target["typeId"], target["id"])
            if found is not None:
                target["obj"] = msgspec.json.decode(msgspec.json.encode(found))
