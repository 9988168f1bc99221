"""The user service's OpenAPI document: what Swagger UI's "Try it out" builds on."""

from __future__ import annotations

import re

import pytest

from common.http.openapi_examples import body_example, example_problems, security_problems

pytestmark = pytest.mark.django_db


@pytest.fixture
def document(api_client) -> dict:
    return api_client.get("/api/schema", {"format": "json"}).json()


def test_every_operation_has_a_summary_an_id_for_deep_links_and_valid_examples(document):
    assert example_problems(document) == []
    assert security_problems(document) == []


def test_the_register_example_is_a_user_the_login_example_logs_in(api_client, document):
    register = body_example(document["paths"]["/users/register"]["post"])
    login = body_example(document["paths"]["/users/login"]["post"])
    username = document["components"]["schemas"]["RegisterRequest"]["properties"]["username"]

    assert re.match(username["pattern"], register["username"])
    assert register["email"] == "ada@example.com"
    assert api_client.post("/users/register", register, format="json").status_code == 201
    assert api_client.post("/users/login", login, format="json").status_code == 200


def test_the_jwt_scheme_says_to_paste_the_bare_token(document):
    scheme = document["components"]["securitySchemes"]["jwtAuth"]
    assert "without `Bearer `" in scheme["description"]
