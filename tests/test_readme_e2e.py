"""The README's curl examples, run verbatim (but for the port) against `manage_all.py up`."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess

import pytest

from common.topology import SERVICES
from devtools.harness import REPO_ROOT, free_port
from tests.test_manage_all_e2e import start_up

pytestmark = pytest.mark.e2e


def readme_block(heading: str) -> str:
    text = (REPO_ROOT / "README.md").read_text()
    section = text.split(f"## {heading}", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, flags=re.DOTALL).group(1)


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    ports = {name: free_port() for name in SERVICES}
    tmp = tmp_path_factory.mktemp("readme")
    process, _ = start_up(tmp, ports)
    try:
        yield ports
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)


def has(output: str, key: str, value: str) -> bool:
    """`"key": value` appears in some JSON of the output (either spacing)."""
    return re.search(rf'"{key}":\s*{re.escape(value)}', output) is not None


def run_block(block: str, ports: dict[str, int]) -> str:
    for name, port in ports.items():
        block = block.replace(f"localhost:{SERVICES[name].port}", f"localhost:{port}")
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_try_it_examples_work_verbatim(up):
    output = run_block(readme_block("Try it"), up)
    print(output)
    assert has(output, "status", '"ok"')  # aggregate health
    assert has(output, "username", '"alice"')  # register, then profile
    assert has(output, "results", "[")  # products page
    assert has(output, "sku", '"KB-001"')  # product 1
    assert has(output, "status", '"confirmed"')  # the order
    assert has(output, "status", '"cancelled"')  # cancelled
    assert 'gateway_upstream_requests_total{method="POST",service="orders",status="201"}' in output


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_error_example_is_problem_json(up):
    text = (REPO_ROOT / "README.md").read_text().split("Every error is JSON", 1)[1]
    block = re.search(r"```sh\n(.*?)```", text, flags=re.DOTALL).group(1)
    output = run_block(block, up)
    assert has(output, "status", "404")
    assert has(output, "type", '"https://errors.example/not-found"')


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_api_key_example_works_verbatim(up):
    output = run_block(readme_block("API keys for programs"), up)
    print(output)
    assert has(output, "results", "[")  # the key lists bob's orders
    assert "lacks the scope 'orders:write'" in output  # and may not place one
    assert has(output, "name", '"nightly-report"')  # the consumer, with its key's prefix
    assert has(output, "status", '"active"')


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_revalidation_example_is_a_304(up):
    text = (REPO_ROOT / "README.md").read_text().split("sent back in `If-None-Match`", 1)[1]
    block = re.search(r"```sh\n(.*?)```", text, flags=re.DOTALL).group(1)
    output = run_block(block, up)
    assert output.split() == ["304"]
