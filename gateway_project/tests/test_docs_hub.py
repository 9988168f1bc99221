"""GET /docs, its documents and /openapi.json: what the services describe, as routed."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest
from openapi_spec_validator import validate

from common.http.openapi_examples import example_problems, security_problems
from common.http.schema import API_KEY_SECURITY_SCHEME, JWT_SECURITY_SCHEME
from gateway_project.docs_hub.specs import path_shape
from gateway_project.routing.table import routes
from gateway_project.tests.fake_upstream import Received, Reply

PROBLEM = {"type": "object", "properties": {"status": {"type": "integer"}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _op(op_id: str, schema: str | None = None) -> dict:
    content = {"application/json": {"schema": _ref(schema)}} if schema else {}
    return {
        "operationId": op_id,
        "security": [{"jwtAuth": []}],
        "responses": {"200": {"description": "OK", **({"content": content} if content else {})}},
    }


def _doc(title: str, paths: dict, schemas: dict) -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": "0.1.0"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"jwtAuth": {"type": "http", "scheme": "bearer"}},
        },
    }


SPECS = {
    "users": _doc(
        "User service",
        {
            "/users/profile": {"get": _op("users_profile_retrieve", "User")},
            "/internal/users/authenticate": {"post": _op("internal_authenticate", "Secret")},
        },
        {"User": {"type": "object"}, "Secret": {"type": "object"}, "Problem": PROBLEM},
    ),
    "products": _doc(
        "Product service",
        {
            "/products": {"get": _op("products_list", "Problem"), "post": _op("products_create")},
            "/products/{id}": {
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {}}],
                "get": _op("products_retrieve", "Product"),
                "delete": _op("products_destroy"),
            },
            "/internal/reservations": {"post": _op("reserve", "Reservation")},
        },
        {
            "Product": {"type": "object", "properties": {"p": _ref("Problem")}},
            "Reservation": {"type": "object"},
            "Problem": {"type": "object", "properties": {"code": {"type": "string"}}},
        },
    ),
    "orders": _doc(
        "Order service",
        {"/orders": {"get": _op("orders_list", "Problem"), "put": _op("not_routed")}},
        {"Problem": PROBLEM},
    ),
}


@pytest.fixture
def described(upstreams):
    """Every fake service answers /api/schema with its document above."""

    def responder_for(name):
        def respond(received: Received) -> Reply:
            if received.path.startswith("/api/schema"):
                body = json.dumps(SPECS[name]).encode()
                return Reply(200, body, [("Content-Type", "application/vnd.oai.openapi+json")])
            return Reply(404)

        return respond

    for name, server in upstreams.items():
        server.responder = responder_for(name)
    return upstreams


def test_a_service_document_shows_only_routed_paths_on_the_gateway(api_client, described):
    response = api_client.get("/docs/specs/products.json")

    assert response.status_code == HTTPStatus.OK
    doc = response.json()
    assert doc["servers"] == [{"url": "/", "description": "the gateway"}]
    assert sorted(doc["paths"]) == ["/products", "/products/{id}"]
    assert sorted(doc["paths"]["/products/{id}"]) == ["delete", "get", "parameters"]
    # Internal schemas go with their paths; what routed paths use stays.
    assert sorted(doc["components"]["schemas"]) == ["Problem", "Product"]
    assert described["products"].received[0].path == "/api/schema?format=json"


def test_operations_carry_the_security_the_gateway_enforces(api_client, described):
    doc = api_client.get("/docs/specs/products.json").json()

    listing = doc["paths"]["/products"]["get"]
    create = doc["paths"]["/products"]["post"]
    assert listing["security"] == [{}, {"jwtAuth": []}]  # anyone; a token optional
    assert listing["x-gateway-policy"] == "public"
    assert create["security"] == [{"jwtAuth": []}]
    assert create["x-gateway-policy"] == "staff"
    assert "Staff only" in create["description"]
    assert doc["components"]["securitySchemes"]["jwtAuth"] == JWT_SECURITY_SCHEME
    assert "without `Bearer `" in JWT_SECURITY_SCHEME["description"]


def test_a_public_operation_its_service_reads_no_token_for_takes_none():
    from gateway_project.docs_hub.specs import security_for

    assert security_for("public", [{}]) == [{}]
    assert security_for("public", None) == [{}]
    assert security_for("public", [{"jwtAuth": []}, {}]) == [{}, {"jwtAuth": []}]
    assert security_for("user", [{}]) == [{"jwtAuth": []}]  # the gateway asks for one


def test_documents_are_cached_briefly(api_client, described):
    api_client.get("/docs/specs/orders.json")
    api_client.get("/docs/specs/orders.json")

    assert len(described["orders"].received) == 1


def test_a_down_service_is_marked_unavailable_and_the_hub_still_loads(api_client, described):
    described["orders"].responder = lambda received: Reply(503)

    page = api_client.get("/docs")
    doc = api_client.get("/docs/specs/orders.json").json()

    assert page.status_code == HTTPStatus.OK
    assert page["Content-Type"].startswith("text/html")
    config = json.loads(
        page.content.split(b'id="hub-config" type="application/json">')[1].split(b"</script>")[0]
    )
    assert [entry["name"] for entry in config["urls"]] == [
        "Every service (merged)",
        "User service",
        "Product service",
        "Order service (unavailable)",
        "API gateway",
    ]
    assert config["urls"][0]["url"] == "/openapi.json"
    assert config["primaryName"] == "Every service (merged)"
    assert doc["x-unavailable"] is True
    assert doc["paths"] == {}
    assert "/api/schema answered 503" in doc["info"]["description"]


def test_the_hub_loads_swagger_ui_from_local_assets_in_the_standalone_layout(api_client, described):
    page = api_client.get("/docs").content.decode()

    assert "/static/gateway/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "swagger-ui-standalone-preset.js" in page
    assert "/static/gateway/docs_hub/hub.js" in page
    assert api_client.get("/static/gateway/docs_hub/hub.js").status_code == HTTPStatus.OK


def test_unknown_document_is_a_json_404(api_client, described):
    response = api_client.get("/docs/specs/nothing.json")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Content-Type"] == "application/problem+json"


def test_merged_document_is_valid_openapi_with_every_routed_path(api_client, described):
    response = api_client.get("/openapi.json")

    doc = response.json()
    validate(doc)
    assert sorted(doc["paths"]) == [
        "/gateway/consumers",
        "/gateway/consumers/{consumer_id}",
        "/gateway/consumers/{consumer_id}/keys",
        "/gateway/consumers/{consumer_id}/keys/{key_id}/revoke",
        "/gateway/consumers/{consumer_id}/usage",
        "/gateway/services",
        "/health",
        "/health/live",
        "/openapi.json",
        "/orders",
        "/products",
        "/products/{id}",
        "/users/profile",
    ]
    assert not any(path.startswith("/internal") for path in doc["paths"])
    assert "Authorize `apiKey` with the key" in doc["info"]["description"]  # how, in the hub
    assert sorted(doc["paths"]["/orders"]) == ["get"]


def test_merged_document_renames_clashing_components_and_their_refs(api_client, described):
    doc = api_client.get("/openapi.json").json()

    schemas = doc["components"]["schemas"]
    # users' Problem is pruned (no routed path uses it); products', orders' and the
    # gateway's (its consumers API) differ.
    portal = ["ApiKey", "ApiKeyCreateRequest", "Consumer", "ConsumerWriteRequest", "NewApiKey"]
    portal += ["PatchedConsumerWriteRequest", "QuotaPeriodEnum", "ScopesEnum"]
    assert sorted(schemas) == sorted(
        ["GatewayProblem", "OrdersProblem", "Product", "ProductsProblem", "User", *portal]
    )
    assert schemas["ProductsProblem"]["properties"] == {"code": {"type": "string"}}
    assert schemas["Product"]["properties"]["p"] == _ref("ProductsProblem")
    listing = doc["paths"]["/products"]["get"]["responses"]["200"]["content"]
    assert listing["application/json"]["schema"] == _ref("ProductsProblem")
    orders = doc["paths"]["/orders"]["get"]["responses"]["200"]["content"]
    assert orders["application/json"]["schema"] == _ref("OrdersProblem")


def test_merged_document_leaves_out_a_down_service_and_says_so(api_client, described):
    described["users"].responder = lambda received: Reply(500)

    doc = api_client.get("/openapi.json").json()

    validate(doc)
    assert "/users/profile" not in doc["paths"]
    assert "Unavailable now, so missing: users." in doc["info"]["description"]


def test_the_gateways_api_schema_is_the_hubs_gateway_document(api_client, described):
    own = api_client.get("/api/schema")
    hub = api_client.get("/docs/specs/gateway.json")

    assert own.status_code == hub.status_code == HTTPStatus.OK
    assert own["Content-Type"] == "application/vnd.oai.openapi+json"
    assert own.json() == hub.json()
    validate(own.json())
    assert own.json()["components"]["securitySchemes"] == {
        "jwtAuth": JWT_SECURITY_SCHEME,
        "apiKey": API_KEY_SECURITY_SCHEME,
    }
    # The consumers API is in it, as a user's (a person's token; a key makes no keys).
    create = own.json()["paths"]["/gateway/consumers/{consumer_id}/keys"]["post"]
    assert (create["security"], create["x-gateway-policy"]) == ([{"jwtAuth": []}], "user")
    assert "Authorize `apiKey`" in own.json()["info"]["description"]
    assert example_problems(own.json()) == []
    assert security_problems(own.json()) == []


def test_the_merged_document_says_to_paste_the_bare_token(api_client, described):
    doc = api_client.get("/openapi.json").json()

    assert doc["components"]["securitySchemes"] == {
        "jwtAuth": JWT_SECURITY_SCHEME,
        "apiKey": API_KEY_SECURITY_SCHEME,
    }


def test_the_merged_document_lists_an_api_key_where_the_route_table_gives_a_scope(
    api_client, described
):
    doc = api_client.get("/openapi.json").json()
    by_shape = {path_shape(path): item for path, item in doc["paths"].items()}

    checked = 0
    for route in routes():
        item = by_shape.get(path_shape(route.name), {})
        for method, policy in route.methods.items():
            operation = item.get(method.lower())
            if operation is None or policy == "public":
                continue
            scope = route.scope_for(method)
            takes_key = {"apiKey": []} in operation["security"]
            assert takes_key is (scope is not None), (route.name, method)
            assert operation.get("x-gateway-key-scope") == scope
            checked += 1
    assert checked


def test_the_gateways_health_documents_its_503(api_client, described):
    doc = api_client.get("/docs/specs/gateway.json").json()

    responses = doc["paths"]["/health"]["get"]["responses"]
    assert sorted(responses) == ["200", "503"]
