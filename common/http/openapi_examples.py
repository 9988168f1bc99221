"""What Swagger UI's "Try it out" sends for an operation, read from an OpenAPI document,
and what every served document must hold for that to work: a summary, an operation id a
deep link takes as it is, and an example valid against its own schema for every request
body and parameter.

For the tests (each project's schema test, tests/test_swagger_browser_e2e.py); running
code does not import it. jsonschema is a development dependency, imported when checking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

OPERATIONS = ("get", "put", "post", "delete", "patch")
JSON = "application/json"
# What Swagger UI's deep links take without its "escaping deep link whitespace" error.
OPERATION_ID = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


@dataclass
class ExampleRequest:
    method: str
    path: str  # with the path parameters' examples in it
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # the request body's first example, or None


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) of every operation, in the document's order."""
    return [
        (path, method, operation)
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
        if method in OPERATIONS
    ]


def _parameters(
    document: dict[str, Any], path: str, operation: dict[str, Any]
) -> list[dict[str, Any]]:
    shared = document["paths"][path].get("parameters", [])
    own = {(p["name"], p["in"]): p for p in [*shared, *operation.get("parameters", [])]}
    return list(own.values())


def parameter_example(parameter: dict[str, Any]) -> Any:
    """What Swagger UI fills in: the first of `examples`, else `example` (either place)."""
    if parameter.get("examples"):
        return next(iter(parameter["examples"].values()))["value"]
    if "example" in parameter:
        return parameter["example"]
    return parameter.get("schema", {}).get("example")


def body_example(operation: dict[str, Any]) -> Any:
    media = operation.get("requestBody", {}).get("content", {}).get(JSON)
    if media is None:
        return None
    if media.get("examples"):
        return next(iter(media["examples"].values()))["value"]
    return media.get("example", media.get("schema", {}).get("example"))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def default_request(document: dict[str, Any], path: str, method: str) -> ExampleRequest:
    """The request "Try it out" → "Execute" sends with nothing edited."""
    operation = document["paths"][path][method]
    request = ExampleRequest(method.upper(), path, body=body_example(operation))
    for parameter in _parameters(document, path, operation):
        value = parameter_example(parameter)
        if value is None:
            continue
        if parameter["in"] == "path":
            name = "{" + parameter["name"] + "}"
            request.path = request.path.replace(name, quote(_text(value), safe=""))
        elif parameter["in"] == "query":
            request.query[parameter["name"]] = _text(value)
        elif parameter["in"] == "header":
            request.headers[parameter["name"]] = _text(value)
    return request


def _schema_errors(document: dict[str, Any], schema: dict[str, Any], value: Any) -> list[str]:
    import jsonschema

    # The document's components beside the schema: its `#/components/...` refs resolve.
    root = {**schema, "components": document.get("components", {})}
    validator = jsonschema.Draft4Validator(root, format_checker=jsonschema.FormatChecker())
    return [error.message for error in validator.iter_errors(value)]


def example_problems(document: dict[str, Any]) -> list[str]:
    """Everything the document lacks for "Try it out" to work from its defaults."""
    problems = []
    for path, method, operation in operations(document):
        where = f"{method.upper()} {path}"
        if not operation.get("summary"):
            problems.append(f"{where}: no summary")
        if not OPERATION_ID.match(operation.get("operationId", "")):
            problems.append(f"{where}: operationId {operation.get('operationId')!r}")
        media = operation.get("requestBody", {}).get("content", {}).get(JSON)
        if media is not None:
            example = body_example(operation)
            if example is None:
                problems.append(f"{where}: no request body example")
            else:
                for error in _schema_errors(document, media["schema"], example):
                    problems.append(f"{where}: body example: {error}")
        for parameter in _parameters(document, path, operation):
            name = f"{where}: {parameter['in']} parameter {parameter['name']}"
            example = parameter_example(parameter)
            if example is None:
                problems.append(f"{name}: no example")
                continue
            for error in _schema_errors(document, parameter.get("schema", {}), example):
                problems.append(f"{name}: example: {error}")
    return problems


def security_problems(document: dict[str, Any]) -> list[str]:
    """Where anyone may call, anyone's `{}` is the requirement or comes first."""
    problems = []
    for path, method, operation in operations(document):
        security = operation.get("security")
        if security and {} in security and security[0] != {}:
            problems.append(f"{method.upper()} {path}: security {security}: {{}} not first")
    return problems
