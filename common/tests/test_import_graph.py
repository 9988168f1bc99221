"""No module of common imports one that imports it back (lazy imports included)."""

from __future__ import annotations

from common.testing import import_cycles


def test_common_has_no_import_cycles():
    assert import_cycles("common") == []


def test_a_cycle_is_listed_with_its_modules(tmp_path, monkeypatch):
    package = tmp_path / "cyclic"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from cyclic import b\n")
    (package / "b.py").write_text("def f():\n    from cyclic import a\n")
    (package / "c.py").write_text("from cyclic import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    assert import_cycles("cyclic") == [["cyclic.a", "cyclic.b"]]
