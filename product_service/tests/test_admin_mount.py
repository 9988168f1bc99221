"""The admin under /admin/products/ (how the gateway reaches it) beside /admin/, one sign-on."""

from __future__ import annotations

import re
from datetime import timedelta
from http import HTTPStatus

import pytest
import responses
from django.contrib.auth import get_user_model
from django.test import Client

from common.identity.admin_mount import SSO_COOKIE
from common.identity.sso import AUTHENTICATE_PATH, STATUS_PATH
from common.testing import clear_own_cache, sign_on_status, sign_on_token
from product_service.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

PREFIX = "/admin/products/"


def status_url() -> str:
    from django.conf import settings

    return f"{settings.COMMON['SERVICE_URLS']['users']}{STATUS_PATH}"


@pytest.fixture
def user_service_says(request):
    """What the user service answers when the SSO cookie's account is re-checked."""
    staff = getattr(request, "param", True)
    clear_own_cache()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.get(
            status_url(),
            json=sign_on_status(is_staff=staff),
        )
        yield mocked


def test_admin_under_the_prefix_keeps_its_links_and_redirects_there(admin_client):
    product = ProductFactory(sku="KB-1")

    index = admin_client.get(PREFIX)
    change = admin_client.get(f"{PREFIX}catalog/product/{product.pk}/change/")

    assert index.status_code == HTTPStatus.OK
    assert f'href="{PREFIX}catalog/product/"' in index.content.decode()
    assert 'href="/admin/catalog/' not in index.content.decode()
    assert change.status_code == HTTPStatus.OK
    assert f'href="{PREFIX}catalog/product/{product.pk}/history/"' in change.content.decode()
    assert "/static/products/admin/css/base.css" in index.content.decode()


def test_anonymous_is_sent_to_the_login_under_the_prefix(client):
    response = client.get(PREFIX)

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == f"{PREFIX}login/?next={PREFIX}"


def test_the_own_port_admin_stays_at_admin(admin_client):
    index = admin_client.get("/admin/")

    assert index.status_code == HTTPStatus.OK
    assert 'href="/admin/catalog/product/"' in index.content.decode()


def test_session_and_csrf_cookies_are_named_and_scoped_to_the_admin_that_set_them(client):
    get_user_model().objects.create_superuser("root", "root@example.com", "pw-Secret-123")
    form = client.get(f"{PREFIX}login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.content.decode())

    signed_in = client.post(
        f"{PREFIX}login/?next={PREFIX}",
        {"csrfmiddlewaretoken": token.group(1), "username": "root", "password": "pw-Secret-123"},
    )

    assert form.cookies["products_csrftoken"]["path"] == PREFIX
    assert signed_in.status_code == HTTPStatus.FOUND
    assert signed_in["Location"] == PREFIX
    assert signed_in.cookies["products_sessionid"]["path"] == PREFIX
    assert signed_in.cookies["products_csrftoken"]["path"] == PREFIX
    # A local account: this project cannot vouch for it to the other admins.
    assert SSO_COOKIE not in signed_in.cookies


def test_a_staff_token_in_the_sso_cookie_signs_in_without_a_password(user_service_says):
    browser = Client()
    browser.cookies[SSO_COOKIE] = sign_on_token(user_id=7, username="ops", is_staff=True)

    index = browser.get(PREFIX)

    assert index.status_code == HTTPStatus.OK
    user = get_user_model().objects.get(username="ops")
    assert user.is_staff
    assert not user.has_usable_password()
    assert index.cookies["products_sessionid"]["path"] == PREFIX


@pytest.mark.parametrize("user_service_says", [False], indirect=True)
def test_the_sso_cookie_of_an_account_demoted_since_grants_nothing(user_service_says):
    browser = Client()
    browser.cookies[SSO_COOKIE] = sign_on_token(user_id=7, username="ops", is_staff=True)

    index = browser.get(PREFIX)

    assert index.status_code == HTTPStatus.FOUND
    assert index["Location"].startswith(f"{PREFIX}login/")


@pytest.mark.parametrize(
    "claims",
    [
        {"is_staff": False},
        {"is_staff": True, "lifetime": timedelta(seconds=-60)},
    ],
    ids=["not-staff", "expired"],
)
def test_the_sso_cookie_of_a_non_staff_or_expired_token_grants_nothing(claims):
    browser = Client()
    browser.cookies[SSO_COOKIE] = sign_on_token(user_id=8, username="eve", **claims)

    response = browser.get(PREFIX)

    assert response.status_code == HTTPStatus.FOUND
    assert "/login/" in response["Location"]


def test_a_forged_sso_cookie_grants_nothing_and_is_dropped():
    browser = Client()
    browser.cookies[SSO_COOKIE] = sign_on_token(user_id=7, username="ops", is_staff=True) + "x"

    response = browser.get(PREFIX)

    assert response.status_code == HTTPStatus.FOUND
    assert response.cookies[SSO_COOKIE].value == ""


@responses.activate
def test_a_sign_in_checked_by_the_user_service_hands_its_token_to_the_other_admins(settings):
    issued = sign_on_token(user_id=7, username="ops", is_staff=True)
    url = f"{settings.COMMON['SERVICE_URLS']['users']}{AUTHENTICATE_PATH}"
    responses.post(url, json={"sign_on": issued})
    browser = Client()
    form = browser.get(f"{PREFIX}login/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.content.decode())

    signed_in = browser.post(
        f"{PREFIX}login/?next={PREFIX}",
        {"csrfmiddlewaretoken": csrf.group(1), "username": "ops", "password": "pw"},
    )

    assert signed_in.status_code == HTTPStatus.FOUND
    assert signed_in.cookies[SSO_COOKIE].value == issued
    assert signed_in.cookies[SSO_COOKIE]["path"] == "/admin/"


def test_the_sso_cookie_on_the_login_page_goes_on_to_next(user_service_says):
    browser = Client()
    browser.cookies[SSO_COOKIE] = sign_on_token(user_id=7, username="ops", is_staff=True)

    response = browser.get(f"{PREFIX}login/?next={PREFIX}catalog/product/")
    elsewhere = Client()
    elsewhere.cookies[SSO_COOKIE] = sign_on_token(user_id=7, username="ops", is_staff=True)
    offsite = elsewhere.get(f"{PREFIX}login/?next=https://evil.example/")

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == f"{PREFIX}catalog/product/"
    assert offsite["Location"] == PREFIX  # the admin's own answer: its index
