"""Pages people open, opened in a real (headless) Chromium: Swagger UI and the admin."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from common.topology import SERVICES

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def render(url: str, profile) -> str:
    """The DOM after the page's scripts ran, as Chromium serialises it."""
    if CHROMIUM is None:
        pytest.skip("needs Chromium (Debian package chromium); .ci/run installs it")
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.parametrize("name", list(SERVICES))
def test_swagger_ui_renders_from_local_assets(stack, name, tmp_path):
    dom = render(f"{stack[name].url}/api/docs", tmp_path)
    # Swagger UI builds these elements with its JavaScript: the bundle loaded and ran.
    assert 'class="swagger-ui"' in dom
    assert SERVICES[name].title in dom
    assert "Failed to load API definition" not in dom


@pytest.mark.parametrize("name", list(SERVICES))
def test_admin_login_page_renders(stack, name, tmp_path):
    dom = render(f"{stack[name].url}/admin/login/", tmp_path)
    assert 'id="login-form"' in dom
    assert f"{SERVICES[name].title} administration" in dom
    assert f"/static/{name}/admin/css/base.css" in dom
