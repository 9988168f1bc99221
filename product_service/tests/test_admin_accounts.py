"""A service's admin, next to the user service's: its header links every admin, the docs,
the dashboard and health (common/templates/admin/base_site.html), and its local user table
is labelled as the signed-on copies it is, with no "Add user" and the user service's flags
read-only (common.identity.admin_accounts)."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Group, User
from django.utils.html import escape

from common.identity.admin_accounts import SECTION
from common.settings.namespaces import common_settings
from common.testing import platform_nav_links

pytestmark = pytest.mark.django_db


def test_every_admin_page_links_the_other_admins_the_docs_and_the_dashboard(admin_client):
    origin = common_settings.PUBLIC_ORIGIN  # the gateway's; none in production: relative
    # (The sign-in page keeps Django's bare header.)
    pages = [admin_client.get(path) for path in ("/admin/", "/admin/catalog/product/")]
    for page in pages:
        assert page.status_code == HTTPStatus.OK
        links = platform_nav_links(page.content.decode())

        assert [(label, href.removeprefix(origin)) for label, href, _ in links] == [
            ("Gateway", "/admin/"),
            ("Users", "/admin/users/"),
            ("Products", "/admin/products/"),
            ("Orders", "/admin/orders/"),
            ("API docs", "/docs"),
            ("Dashboard", "/dashboard"),
            ("Health", "/health"),
        ], page.wsgi_request.path
        assert [label for label, _, current in links if current] == ["Products"]


def test_the_local_user_table_is_labelled_and_offers_no_add_user(admin_client):
    index = admin_client.get("/admin/").content.decode()
    users = admin_client.get("/admin/auth/user/").content.decode()

    assert escape(SECTION) in index
    assert "Authentication and Authorization" not in index
    assert "/admin/auth/user/add/" not in index + users
    users_admin = f'href="{common_settings.PUBLIC_ORIGIN}/admin/users/">Users admin</a>'
    assert re.search(r'id="signed-on-accounts".*' + re.escape(users_admin), users, re.S)
    assert admin_client.get("/admin/auth/user/add/").status_code == HTTPStatus.FORBIDDEN


def test_a_signed_on_account_changes_only_its_groups_and_permissions_here(admin_client):
    account = User.objects.create_user("ada", email="ada@example.com", is_staff=True)
    reviewers = Group.objects.create(name="reviewers")

    response = admin_client.post(
        f"/admin/auth/user/{account.pk}/change/",
        {
            "username": "mallory",
            "email": "mallory@example.com",
            "is_staff": "",
            "is_superuser": "on",
            "groups": [reviewers.pk],
            "_save": "Save",
        },
    )

    assert response.status_code == HTTPStatus.FOUND, response.content[:2000]
    account.refresh_from_db()
    assert (account.username, account.email) == ("ada", "ada@example.com")
    assert (account.is_staff, account.is_superuser) == (True, False)
    assert list(account.groups.all()) == [reviewers]
