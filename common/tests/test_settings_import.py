"""Each project's settings are named assignments (no `globals().update(...)`), and
importing them has no side effects: no file or directory appears under VAR_DIR and no
environment variable is set, given what production is given (every secret)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from common.settings.env import REPO_ROOT
from common.topology import SERVICES

PROBE = """
import importlib, json, os, sys
before = dict(os.environ)
module = importlib.import_module(sys.argv[1])
changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))
names = {"service": module.SERVICE_NAME, "common": module.COMMON["SERVICE_NAME"]}
print(json.dumps({"changed": changed, **names}))
"""


@pytest.fixture(scope="module")
def key_pair() -> tuple[str, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


@pytest.mark.parametrize("name", list(SERVICES))
def test_importing_a_projects_settings_changes_nothing(name, key_pair, tmp_path):
    private_pem, public_pem = key_pair
    var = tmp_path / "var"
    var.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith(("_DATABASE_URL", "_SECRET_KEY")) and key != "SERVICE_NAME"
    }
    env.update(
        APP_ENV="production",
        VAR_DIR=str(var),
        SECRET_KEY="s" * 50,
        SERVICE_TOKEN="t" * 40,
        JWT_PRIVATE_KEY=private_pem,
        JWT_PUBLIC_KEY=public_pem,
        PYTHONPATH=str(REPO_ROOT),
    )
    env[SERVICES[name].database_url_var] = "postgres://nobody@127.0.0.1:9/none"

    result = subprocess.run(
        [sys.executable, "-c", PROBE, SERVICES[name].settings_module],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {"changed": [], "service": name, "common": name}
    assert list(var.iterdir()) == []


@pytest.mark.parametrize("name", list(SERVICES))
def test_settings_are_named_assignments(name):
    source = (REPO_ROOT / SERVICES[name].package / "settings.py").read_text()
    calls = [
        node.func.id
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    ]
    assert "globals" not in calls
    assert "SERVICE_NAME" in {
        target.id
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
