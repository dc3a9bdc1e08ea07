"""The recorded examples (openapi/examples.json, the OpenAPI document, docs/http-api.md) are what the
app really answers over the seeded sandbox: every request runs again and must get the same answer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.api.examples import EXAMPLES_PATH, with_examples
from app.openapi import render_openapi
from tests.examples.recorder import DOCS_PATH, docs_section, run_examples, with_docs_section


@pytest.fixture(scope="module")
def committed() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(EXAMPLES_PATH.read_text(encoding="utf-8"))
    return records


async def test_every_example_gets_the_recorded_answer_from_the_app(committed: list[dict[str, Any]]) -> None:
    fresh = {record["operation"]: record for record in await run_examples()}
    assert [r["operation"] for r in committed] == list(fresh), "run scripts/api_examples.py and commit"
    for record in committed:
        again = fresh[record["operation"]]
        assert again["request"] == record["request"], f"{record['operation']}: the example request changed"
        assert again["response"] == record["response"], (
            f"{record['operation']}: the app answers differently now; review, run scripts/api_examples.py, commit"
        )


def test_every_operation_of_the_document_has_a_recorded_example(committed: list[dict[str, Any]]) -> None:
    document = json.loads(render_openapi())
    operations = {op["operationId"] for item in document["paths"].values() for op in item.values()}
    assert operations == {record["operation"] for record in committed}


def test_the_document_carries_each_recorded_answer_under_its_status(committed: list[dict[str, Any]]) -> None:
    document = json.loads(render_openapi())
    by_id = {op["operationId"]: op for item in document["paths"].values() for op in item.values()}
    for record in committed:
        response = record["response"]
        if response["body"] is None:
            continue
        content = by_id[record["operation"]]["responses"][str(response["status"])]["content"]
        assert content[response["contentType"]]["examples"]["sandbox"]["value"] == response["body"]


def test_an_example_for_an_operation_the_document_lacks_is_refused() -> None:
    schema = {"paths": {"/x": {"get": {"operationId": "GetX", "responses": {}}}}}
    stray = {"operation": "Gone", "request": {}, "response": {}}
    with pytest.raises(ValueError, match="Gone"):
        with_examples(schema, (stray,))


def test_the_worked_examples_in_the_docs_are_the_recorded_ones(committed: list[dict[str, Any]]) -> None:
    docs = DOCS_PATH.read_text(encoding="utf-8")
    assert with_docs_section(docs, docs_section(committed)) == docs, "run scripts/api_examples.py and commit"
