"""What `manage_all.py test --coverage` prints from coverage's JSON report: each top-level
package's statements, those missed and its share, then the total fail_under is held to."""

from __future__ import annotations

from devtools.launcher.suites import coverage_table, project_coverage


def _file(statements: int, run: int) -> dict:
    return {"summary": {"num_statements": statements, "covered_lines": run}}


REPORT = {
    "files": {
        "common/identity/auth.py": _file(10, 9),
        "common/identity/jwt.py": _file(4, 1),
        "user_service/accounts/views.py": _file(10, 10),
        "common/empty.py": _file(0, 0),
    },
    "totals": {"num_statements": 24, "covered_lines": 20},
}


def test_each_package_adds_up_its_files():
    assert project_coverage(REPORT) == {"common": (14, 10), "user_service": (10, 10)}


def test_the_table_has_a_row_per_package_then_the_total():
    assert coverage_table(REPORT) == [
        "coverage         statements  missed   cover",
        "common                   14       4   71.4%",
        "user_service             10       0  100.0%",
        "total                    24       4   83.3%",
    ]
