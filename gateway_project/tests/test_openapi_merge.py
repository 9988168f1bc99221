"""docs_hub.merge: documents become one, clashes renamed, identical components shared."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from gateway_project.docs_hub.merge import merge_documents


def doc(path: str, op_id: str, schemas: dict) -> dict:
    ref = {"$ref": f"#/components/schemas/{next(iter(schemas))}"}
    return {
        "openapi": "3.0.3",
        "info": {"title": path, "version": "1"},
        "paths": {
            path: {
                "get": {
                    "operationId": op_id,
                    "tags": ["t"],
                    "responses": {
                        "200": {
                            "description": "OK",
                            "content": {"application/json": {"schema": ref}},
                        }
                    },
                }
            }
        },
        "components": {"schemas": schemas},
        "tags": [{"name": "t"}],
    }


def test_identical_components_are_shared_and_operation_ids_kept_unique():
    same = {"Page": {"type": "object"}}

    merged = merge_documents(
        {"a": doc("/a", "list", same), "b": doc("/b", "list", same)},
        info={"title": "m", "version": "1"},
    )

    validate(merged)
    assert list(merged["components"]["schemas"]) == ["Page"]
    assert [merged["paths"][p]["get"]["operationId"] for p in ("/a", "/b")] == ["list", "bList"]
    assert merged["tags"] == [{"name": "t"}]


def test_a_path_in_two_documents_is_refused():
    with pytest.raises(ValueError, match="/a is described by two documents"):
        merge_documents(
            {"a": doc("/a", "x", {"A": {}}), "b": doc("/a", "y", {"B": {}})},
            info={"title": "m", "version": "1"},
        )
