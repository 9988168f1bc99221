"""One OpenAPI document from several: the gateway's /openapi.json.

No maintained library merges OpenAPI documents, so this is ours and small: paths are
disjoint (the route table has each path once); a component two documents define
differently is renamed in each (`Products` + `Problem` → `ProductsProblem`), its `$ref`s
with it; identical ones are shared; an operationId used twice is prefixed by its service.
"""

from __future__ import annotations

import copy
from typing import Any

from common.http.schema import camel_operation_id

SHARED_SECTIONS = ("securitySchemes",)  # the gateway's own, the same in every document


def _definitions(
    documents: dict[str, dict[str, Any]],
) -> dict[tuple[str, str], list[tuple[str, Any]]]:
    seen: dict[tuple[str, str], list[tuple[str, Any]]] = {}
    for source, doc in documents.items():
        for section, entries in doc.get("components", {}).items():
            if section in SHARED_SECTIONS:
                continue
            for name, value in entries.items():
                seen.setdefault((section, name), []).append((source, value))
    return seen


def clashing_names(documents: dict[str, dict[str, Any]]) -> set[tuple[str, str]]:
    """(section, name) pairs that two documents define differently."""
    return {
        key
        for key, defs in _definitions(documents).items()
        if any(value != defs[0][1] for _, value in defs[1:])
    }


def _rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            key: renames.get(value, value)
            if key == "$ref" and isinstance(value, str)
            else _rewrite_refs(value, renames)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(value, renames) for value in node]
    return node


def renamed(source: str, doc: dict[str, Any], clashes: set[tuple[str, str]]) -> dict[str, Any]:
    """The document with its clashing components renamed after `source`."""
    prefix = source[:1].upper() + source[1:]
    renames = {}
    for section, entries in doc.get("components", {}).items():
        for name in entries:
            if (section, name) in clashes:
                renames[f"#/components/{section}/{name}"] = f"#/components/{section}/{prefix}{name}"
    doc = _rewrite_refs(doc, renames)
    for section, entries in doc.get("components", {}).items():
        doc["components"][section] = {
            (f"{prefix}{name}" if (section, name) in clashes else name): value
            for name, value in entries.items()
        }
    return doc


def merge_documents(
    documents: dict[str, dict[str, Any]], *, info: dict[str, Any]
) -> dict[str, Any]:
    """`documents` maps a source name (service) to its document as the gateway shows it."""
    clashes = clashing_names(documents)
    merged: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": info,
        "servers": [{"url": "/", "description": "the gateway"}],
        "paths": {},
        "components": {},
        "tags": [],
    }
    operation_ids: set[str] = set()
    tag_names: set[str] = set()
    for source, original in documents.items():
        doc = renamed(source, copy.deepcopy(original), clashes)
        for path, item in doc.get("paths", {}).items():
            if path in merged["paths"]:
                raise ValueError(f"{path} is described by two documents")
            for operation in item.values():
                if isinstance(operation, dict) and "operationId" in operation:
                    if operation["operationId"] in operation_ids:
                        operation["operationId"] = camel_operation_id(
                            f"{source} {operation['operationId']}"
                        )
                    operation_ids.add(operation["operationId"])
            merged["paths"][path] = item
        for section, entries in doc.get("components", {}).items():
            merged["components"].setdefault(section, {}).update(entries)
        for tag in doc.get("tags", []):
            if tag["name"] not in tag_names:
                tag_names.add(tag["name"])
                merged["tags"].append(tag)
    if not merged["tags"]:
        del merged["tags"]
    return merged
