"""The recorded example of every operation, embedded in the OpenAPI document the gateway serves.

``openapi/examples.json`` holds one request and its real answer per operation, recorded from the app
over the seeded sandbox (``scripts/api_examples.py``; ``tests/api/test_examples.py`` re-runs them).
They become OpenAPI 3.1 ``examples`` (named ``sandbox``) on the operation's parameters, request body
and response, so a client author sees a real exchange beside each schema.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any, Final

__all__ = ["EXAMPLES_PATH", "load_examples", "with_examples"]

EXAMPLES_PATH: Final = Path(__file__).resolve().parents[2] / "openapi" / "examples.json"


@cache
def load_examples() -> tuple[dict[str, Any], ...]:
    # Read on first use (the first schema request), never at import; an installed package without
    # the repository's openapi/ folder serves the document without examples.
    if not EXAMPLES_PATH.exists():
        return ()
    records: list[dict[str, Any]] = json.loads(EXAMPLES_PATH.read_text(encoding="utf-8"))
    return tuple(records)


def with_examples(schema: dict[str, Any], records: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    """A copy of ``schema`` with each record as the ``sandbox`` example of its operation. A record
    naming no operation of the document means the examples file is out of date: an error."""
    schema = copy.deepcopy(schema)
    operations = {
        operation["operationId"]: (template, operation)
        for template, item in schema.get("paths", {}).items()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    for record in records:
        if record["operation"] not in operations:
            raise ValueError(f"{EXAMPLES_PATH.name}: no operation {record['operation']!r}; record the examples again")
        template, operation = operations[record["operation"]]
        request, response = record["request"], record["response"]
        values = {**_path_values(template, request["path"]), **request["query"]}
        for parameter in operation.get("parameters", []):
            if parameter["name"] in values:
                parameter["examples"] = {"sandbox": {"value": values[parameter["name"]]}}
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None and request["body"] is not None:
            body["examples"] = {"sandbox": {"value": request["body"]}}
        answer = operation["responses"].get(str(response["status"]), {}).get("content", {})
        media = answer.get(response["contentType"]) or answer.get("application/json")
        if media is not None and response["body"] is not None:
            media["examples"] = {"sandbox": {"value": response["body"]}}
    return schema


def _path_values(template: str, path: str) -> dict[str, str]:
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    matched = re.fullmatch(pattern, path)
    return matched.groupdict() if matched else {}
