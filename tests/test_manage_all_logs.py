"""`manage_all.py up` writes one merged JSON-lines log; `logs REQUEST_ID` reads it back."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from common.topology import SERVICES
from devtools.harness import REPO_ROOT, free_port, http
from tests.test_manage_all_e2e import _up_env, start_up


def logs(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage_all.py", "logs", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def entry(ts: str, service: str, request_id: str, message: str) -> str:
    return json.dumps(
        {
            "ts": ts,
            "level": "INFO",
            "service": service,
            "request_id": request_id,
            "message": message,
        }
    )


def test_logs_prints_one_requests_lines_from_every_project_in_time_order(tmp_path):
    merged = tmp_path / "up.jsonl"
    merged.write_text(
        "\n".join(
            [
                entry("2026-01-01T10:00:00.300+00:00", "gateway", "abc", "answered 201"),
                entry("2026-01-01T10:00:00.100+00:00", "gateway", "abc", "POST /orders"),
                entry("2026-01-01T10:00:00.150+00:00", "other", "zzz", "someone else"),
                "Traceback (most recent call last): not JSON",
                entry("2026-01-01T10:00:00.200+00:00", "products", "abc", "reserved"),
                entry("2026-01-01T10:00:00.250+00:00", "orders", "abc", "confirmed"),
            ]
        )
        + "\n"
    )
    result = logs("abc", "--file", str(merged), "--json")
    assert result.returncode == 0, result.stderr
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["message"] for e in printed] == [
        "POST /orders",
        "reserved",
        "confirmed",
        "answered 201",
    ]
    plain = logs("abc", "--file", str(merged)).stdout.splitlines()
    assert len(plain) == 4
    assert "products" in plain[1]
    assert plain[1].endswith("reserved")


def test_logs_says_when_nothing_carries_the_id(tmp_path):
    (tmp_path / "up.jsonl").write_text(entry("2026-01-01T10:00:00.000+00:00", "users", "a", "x"))
    result = logs("missing", "--file", str(tmp_path / "up.jsonl"))
    assert result.returncode == 1
    assert "no line with request id 'missing'" in result.stderr


@pytest.mark.e2e
def test_up_writes_the_merged_stream_that_logs_reads(tmp_path):
    ports = {name: free_port() for name in SERVICES}
    process, _ = start_up(tmp_path, ports)
    try:
        status, headers, _ = http(
            "GET",
            f"http://127.0.0.1:{ports['gateway']}/products/1",
            headers={"X-Request-ID": "merged-log-1"},
        )
        assert status == 200
        assert headers["X-Request-ID"] == "merged-log-1"
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
    merged = tmp_path / "var" / "log" / "up.jsonl"
    lines = merged.read_text().splitlines()
    assert all(isinstance(json.loads(line), dict) for line in lines), "every line parses"
    assert {json.loads(line)["service"] for line in lines} >= set(SERVICES)
    result = logs("merged-log-1", "--json", env=_up_env(tmp_path, ports))
    assert result.returncode == 0, result.stderr
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    assert {e["service"] for e in printed} == {"gateway", "products"}
    assert [e["ts"] for e in printed] == sorted(e["ts"] for e in printed)
