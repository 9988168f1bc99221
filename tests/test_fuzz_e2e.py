"""Fuzzing: schemathesis against each service's OpenAPI schema and through the gateway.

Real processes (devtools.harness.start_stack), signed in as a user and as staff, with
valid (positive) and invalid (negative) input. Every answer must be no 5xx, have a
status, media type and body its operation documents (common.http.schema lists the problem
answers), and an operation that needs credentials must refuse the same request sent
without them (schemathesis' ignored_auth: no auth bypass).

Bounded: a few examples per operation and generation mode, derandomized (the same cases
every run, so a failure reproduces), no shrinking phase, and a time cap per operation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode, checks  # noqa: E402

from devtools.harness import (  # noqa: E402
    REPO_ROOT,
    Stack,
    json_call,
    mint_access_token,
    start_stack,
    superuser_create,
)

MAX_EXAMPLES = 8  # per operation, identity and generation mode
SECONDS_PER_OPERATION = 8.0
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.ignored_auth,
]
PASSWORD = "fuzzing is a fine passphrase 7"
# Limits high enough that the fuzzer explores more than the rate limiter (429 is still
# documented and checked wherever it answers).
RELAXED_LIMITS = {
    "GATEWAY_RATE_ANON": "100000/min",
    "GATEWAY_RATE_USER": "100000/min",
    "GATEWAY_RATE_AUTH": "100000/min",
    "USERS_RATE_LOGIN": "100000/min",
    "USERS_RATE_LOGIN_USER": "100000/min",
    "ADMIN_RATE_LOGIN": "100000/min",
}


class OperationTimeUp(Exception):
    """The operation's time cap is reached: stop generating examples for it."""


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("fuzz"), env=RELAXED_LIMITS)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def identities(fuzz_stack: Stack) -> dict[str, dict[str, str]]:
    """Bearer headers of a real account (user) and of a staff token."""
    gateway = fuzz_stack["gateway"].url
    json_call("POST", f"{gateway}/users/register", {"username": "fuzzer", "password": PASSWORD})
    status, _headers, tokens = json_call(
        "POST", f"{gateway}/users/login", {"username": "fuzzer", "password": PASSWORD}
    )
    assert status == 200, tokens
    staff = mint_access_token(fuzz_stack, user_id=10_000, is_staff=True, username="ops")
    return {
        "user": {"Authorization": f"Bearer {tokens['access']}"},
        "staff": {"Authorization": f"Bearer {staff}"},
    }


def load_schema(service_url: str):
    with urllib.request.urlopen(f"{service_url}/api/schema?format=json", timeout=10) as answer:
        raw = json.loads(answer.read())
    return schemathesis.openapi.from_dict(raw)


def fuzz_operation(
    operation, *, base_url: str, headers: dict[str, str], calls: list[int]
) -> list[str]:
    """Run the bounded examples of one operation; the failures found, as text."""
    failures: list[str] = []
    deadline = time.monotonic() + SECONDS_PER_OPERATION
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case) -> None:
            if time.monotonic() > deadline:
                raise OperationTimeUp()
            response = case.call(base_url=base_url, headers=headers, timeout=10)
            calls.append(response.status_code)
            case.validate_response(response, checks=CHECKS, headers=headers)

        try:
            run()
        except OperationTimeUp:
            break
        except Unsatisfiable:
            continue  # nothing to make invalid (no parameters, any string is valid)
        except Exception as error:  # schemathesis' failure groups and check failures
            failures.append(f"{operation.label} ({mode.value}): {error}")
    return failures


def fuzz(schema, *, base_url: str, headers: dict[str, str], only_public: bool) -> list[str]:
    failures: list[str] = []
    operations = calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if only_public and operation.path.startswith("/internal/"):
            continue  # the gateway never routes these (tests/owasp: API9)
        statuses: list[int] = []
        failures += fuzz_operation(operation, base_url=base_url, headers=headers, calls=statuses)
        operations, calls = operations + 1, calls + len(statuses)
    assert operations > 0
    assert calls >= operations, "the fuzzer sent (almost) nothing"
    return failures


@pytest.mark.parametrize("identity", ["user", "staff"])
@pytest.mark.parametrize("service", ["users", "products", "orders"])
def test_each_service_answers_as_its_schema_says(fuzz_stack, identities, service, identity):
    url = fuzz_stack[service].url
    failures = fuzz(load_schema(url), base_url=url, headers=identities[identity], only_public=False)
    assert failures == [], "\n\n".join(failures)


@pytest.mark.parametrize("identity", ["user", "staff"])
@pytest.mark.parametrize("service", ["users", "products", "orders"])
def test_the_gateway_answers_as_the_services_schemas_say(fuzz_stack, identities, service, identity):
    schema = load_schema(fuzz_stack[service].url)
    failures = fuzz(
        schema, base_url=fuzz_stack["gateway"].url, headers=identities[identity], only_public=True
    )
    assert failures == [], "\n\n".join(failures)


# The command-line run: every check schemathesis has and every phase (examples, coverage,
# fuzzing, stateful), through the gateway's merged document, as a staff account that exists.
CLI_EXAMPLES = 10


def test_the_gateway_passes_every_check_of_schemathesis(fuzz_stack, tmp_path):
    gateway = fuzz_stack["gateway"].url
    password = "a staff passphrase for fuzzing 9"
    superuser_create(fuzz_stack, "fuzz-staff", password)
    status, _, tokens = json_call(
        "POST", f"{gateway}/users/login", {"username": "fuzz-staff", "password": password}
    )
    assert status == 200, tokens
    # The token goes to the document's security scheme (not a header on every request), so
    # the checks that leave it out (ignored_auth, missing_required_header) can.
    config = tmp_path / "schemathesis.toml"
    config.write_text('[auth.openapi.jwtAuth]\nbearer = "${FUZZ_TOKEN}"\n')
    command = [
        *(str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(config)),
        *("run", f"{gateway}/openapi.json", "--url", gateway, "--checks", "all"),
        *("--max-examples", str(CLI_EXAMPLES), "--generation-deterministic", "--no-color"),
        *("--request-timeout", "10", "--max-failures", "50"),
    ]
    run = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "SCHEMATHESIS_HOOKS": "tests.fuzz_hooks",
            "FUZZ_TOKEN": tokens["access"],
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = run.stdout + run.stderr
    (REPO_ROOT / "var" / "test-reports").mkdir(parents=True, exist_ok=True)
    (REPO_ROOT / "var" / "test-reports" / "schemathesis.txt").write_text(report)
    assert run.returncode == 0, report[-12000:]
    assert "Stateful" in report, report[-3000:]


def test_no_service_log_shows_a_traceback(fuzz_stack):
    """Run last: whatever the fuzzer sent, no process logged an unhandled exception."""
    for name, service in fuzz_stack.services.items():
        log = Path(service.log_path).read_text(errors="replace")
        assert "Traceback" not in log, f"{name}:\n{log[-3000:]}"
