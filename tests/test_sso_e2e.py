"""The admins' sign-on credential and identity changes, through the real gateway.

Real processes (devtools/harness.py): the users admin signs in through the gateway, the
products and gateway admins open by the sign-on cookie, an API access token opens none,
and a logout at one admin ends the session at another. An admin's password reset of an
account revokes the account's old access token at the gateway within 2 s with Redis
(CI's second pass); without Redis at the user service (docs/security.md, 7).
"""

from __future__ import annotations

import os
import re
import time
from http import HTTPStatus

import jwt
import pytest
import requests

from common.testing import wait_until
from devtools.harness import Stack, json_call, superuser_create

pytestmark = pytest.mark.e2e

ROOT_PASSWORD = "an admin passphrase for sso e2e"
OPS_PASSWORD = "an ops passphrase for sso e2e"
NEW_PASSWORD = "a brand new passphrase for sso e2e"


def csrf_of(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def sign_in(session: requests.Session, admin: str, username: str, password: str):
    form = session.get(f"{admin}login/", timeout=10)
    return session.post(
        f"{admin}login/?next={admin}",
        data={
            "csrfmiddlewaretoken": csrf_of(form.text),
            "username": username,
            "password": password,
        },
        timeout=10,
        allow_redirects=False,
    )


def opens(session: requests.Session, url: str) -> bool:
    answer = session.get(url, timeout=10, allow_redirects=False)
    assert answer.status_code in (HTTPStatus.OK, HTTPStatus.FOUND), answer.status_code
    return answer.status_code == HTTPStatus.OK


@pytest.fixture(scope="module")
def root(stack: Stack) -> str:
    return superuser_create(stack, "e2e-sso-root", ROOT_PASSWORD)


def test_one_sign_in_opens_every_admin_and_one_logout_closes_them(stack, root):
    gateway = stack["gateway"].url
    browser = requests.Session()
    signed_in = sign_in(browser, f"{gateway}/admin/users/", root, ROOT_PASSWORD)
    assert signed_in.status_code == HTTPStatus.FOUND
    sign_on = browser.cookies.get("admin_sso", path="/admin/")
    assert sign_on

    assert opens(browser, f"{gateway}/admin/products/")
    assert opens(browser, f"{gateway}/admin/")

    # An API access token of the same account is no sign-on credential.
    status, _, tokens = json_call(
        "POST", f"{gateway}/users/login", {"username": root, "password": ROOT_PASSWORD}
    )
    assert status == HTTPStatus.OK
    with_api_token = requests.Session()
    with_api_token.cookies.set("admin_sso", tokens["access"], path="/admin/")
    assert not opens(with_api_token, f"{gateway}/admin/orders/")
    # ... and the sign-on credential is no API token.
    status, _, _ = json_call("GET", f"{gateway}/gateway/services", token=sign_on)
    assert status == HTTPStatus.UNAUTHORIZED

    index = browser.get(f"{gateway}/admin/products/", timeout=10)
    browser.post(
        f"{gateway}/admin/products/logout/",
        data={"csrfmiddlewaretoken": csrf_of(index.text)},
        timeout=10,
        allow_redirects=False,
    )

    assert not opens(browser, f"{gateway}/admin/users/")  # the users admin checks at once
    kept = requests.Session()
    kept.cookies.set("admin_sso", sign_on, path="/admin/")  # copied before the logout
    assert not opens(kept, f"{gateway}/admin/orders/")


def test_an_admin_password_reset_revokes_the_old_access_token_at_the_gateway(stack, root):
    gateway = stack["gateway"].url
    ops = superuser_create(stack, "e2e-sso-ops", OPS_PASSWORD)
    status, _, tokens = json_call(
        "POST", f"{gateway}/users/login", {"username": ops, "password": OPS_PASSWORD}
    )
    assert status == HTTPStatus.OK
    old = tokens["access"]
    user_id = jwt.decode(old, options={"verify_signature": False})["user_id"]
    assert json_call("GET", f"{gateway}/gateway/services", token=old)[0] == HTTPStatus.OK

    admin = requests.Session()
    assert sign_in(admin, f"{gateway}/admin/users/", root, ROOT_PASSWORD).status_code == 302
    form_url = f"{gateway}/admin/users/accounts/user/{user_id}/password/"
    form = admin.get(form_url, timeout=10)
    reset = admin.post(
        form_url,
        data={
            "csrfmiddlewaretoken": csrf_of(form.text),
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "usable_password": "true",
        },
        timeout=10,
        allow_redirects=False,
    )
    assert reset.status_code == HTTPStatus.FOUND, reset.text[:500]
    changed = time.monotonic()

    if os.environ.get("REDIS_URL"):
        # The bound is the contract (a password change reaches the edge within 2 s).
        wait_until(
            lambda: json_call("GET", f"{gateway}/gateway/services", token=old)[0] != HTTPStatus.OK,
            timeout=max(0.0, changed + 2.0 - time.monotonic()),
            every=0.1,
            what="the old token refused at the edge within 2 s of the change",
        )
    # With or without Redis the user service refuses it (its credential version).
    status, _, _ = json_call("GET", f"{gateway}/users/profile", token=old)
    assert status == HTTPStatus.UNAUTHORIZED
