"""`up`'s development admin: made once; every later `up` says where its password is."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command


def _run() -> str:
    out = StringIO()
    call_command("ensure_dev_admin", stdout=out)
    return out.getvalue().strip()


@pytest.mark.django_db
def test_the_second_run_says_where_the_generated_password_is_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    kept = tmp_path.resolve() / "secrets" / "admin_password"
    first = _run()
    assert first.startswith("admin user 'admin' created")
    assert str(kept) in first
    assert _run() == f"admin user 'admin' exists; its password: kept in {kept}"


@pytest.mark.django_db
def test_a_password_from_the_environment_is_named_so(monkeypatch, tmp_path):
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "correct-horse-battery-9")
    _run()
    assert _run() == "admin user 'admin' exists; its password: DJANGO_SUPERUSER_PASSWORD"
