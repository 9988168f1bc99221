"""deploy/postgres-init.sql, run for real with psql against the local PostgreSQL server.

Role and database names are cluster-wide, and CI's own `users` ... `gateway` databases
live on the same server: the test runs the file with every project's name prefixed
(`t1a2b3c4_users`), so it creates and then drops only its own roles and databases. The
server here trusts every local connection, so passwords are not what is tested; what each
role may do once connected is: connect to its own database only, own it, create tables
there, and neither create databases nor roles, nor be a superuser.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess

import pytest

from common.topology import SERVICES
from devtools.harness import REPO_ROOT

SERVER = "postgresql://postgres@127.0.0.1:5432"
INIT = REPO_ROOT / "deploy" / "postgres-init.sql"
PROJECTS = [s.database for s in SERVICES.values()]


def prefixed_script(prefix: str) -> str:
    """The init script with every project's role and database renamed PREFIX_<name>."""
    names = "|".join(PROJECTS)
    return re.sub(rf"\b({names})\b", rf"{prefix}_\1", INIT.read_text())


def run_psql(script: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", f"{SERVER}/postgres", "-f", "-"],
        input=script,
        env={"PATH": os.environ["PATH"], "PGCONNECT_TIMEOUT": "5", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def passwords() -> dict[str, str]:
    return {f"{s.env_prefix}_DB_PASSWORD": secrets.token_hex(16) for s in SERVICES.values()}


@pytest.fixture
def server():
    psycopg = pytest.importorskip("psycopg")
    if not shutil.which("psql"):
        pytest.skip("psql is not installed")
    try:
        admin = psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        pytest.skip(f"no PostgreSQL at 127.0.0.1:5432: {error}")
    prefix = f"t{secrets.token_hex(4)}"
    yield admin, prefix
    with admin:
        for name in PROJECTS:
            admin.execute(f'DROP DATABASE IF EXISTS "{prefix}_{name}" WITH (FORCE)')
        for name in PROJECTS:
            admin.execute(f'DROP ROLE IF EXISTS "{prefix}_{name}"')


def connect(role: str, database: str):
    import psycopg

    return psycopg.connect(
        f"postgresql://{role}@127.0.0.1:5432/{database}", autocommit=True, connect_timeout=3
    )


def test_each_project_role_owns_only_its_database_and_is_no_superuser(server):
    import psycopg

    admin, prefix = server
    result = run_psql(prefixed_script(prefix), passwords())
    assert result.returncode == 0, result.stderr
    for name in PROJECTS:
        role = f"{prefix}_{name}"
        flags = admin.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin, rolpassword IS NOT NULL"
            " FROM pg_authid WHERE rolname = %s",
            [role],
        ).fetchone()
        assert flags == (False, False, False, True, True), role
        owner = admin.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [role]
        ).fetchone()
        assert owner == (role,)
        owned = admin.execute(
            "SELECT datname FROM pg_database WHERE pg_get_userbyid(datdba) = %s", [role]
        ).fetchall()
        assert owned == [(role,)]
        with connect(role, role) as conn:
            conn.execute("CREATE TABLE migrated (id int PRIMARY KEY)")  # its migrations
            conn.execute("INSERT INTO migrated VALUES (1)")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f'CREATE DATABASE "{role}_more"')
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f'CREATE ROLE "{role}_more"')
        for other in PROJECTS:
            if other == name:
                continue
            with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
                connect(role, f"{prefix}_{other}").close()


def test_a_password_not_given_stops_the_script_at_that_role(server):
    admin, prefix = server
    given = passwords()
    del given["ORDERS_DB_PASSWORD"]
    result = run_psql(prefixed_script(prefix), given)
    assert result.returncode != 0
    roles = {
        row[0]
        for row in admin.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", [f"{prefix}_%"]
        ).fetchall()
    }
    assert f"{prefix}_orders" not in roles, "no role without a password of its own"
    assert f"{prefix}_gateway" not in roles, "nothing after it either"
