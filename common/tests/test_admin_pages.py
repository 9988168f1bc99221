"""Admin changelists: a page number that names no page is 404 problem JSON, never a 500."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.http import Http404

from common.identity.admin_pages import MAX_ROW_NUMBER, requested_page
from common.testing import CHECKED_ADMIN_PAGES, admin_page_statuses

pytestmark = pytest.mark.django_db

GROUPS = "/admin/auth/group/"


@pytest.fixture
def two_per_page():
    group_admin = admin.site._registry[Group]
    group_admin.list_per_page = 2
    yield
    group_admin.list_per_page = 100


def test_a_page_number_naming_no_page_of_a_one_page_list_is_404(admin_client):
    Group.objects.create(name="only")

    assert admin_page_statuses(admin_client, GROUPS) == CHECKED_ADMIN_PAGES


def test_past_the_last_of_several_pages_is_404_not_a_redirect(admin_client, two_per_page):
    Group.objects.bulk_create(Group(name=f"g{n}") for n in range(5))

    pages = {p: admin_client.get(GROUPS, {"p": p}) for p in ("1", "3", "4", "99999999999999999999")}

    assert [pages[p].status_code for p in ("1", "3")] == [HTTPStatus.OK] * 2
    assert len(pages["3"].context["cl"].result_list) == 1
    for p in ("4", "99999999999999999999"):
        assert pages[p].status_code == HTTPStatus.NOT_FOUND
        assert pages[p]["Content-Type"] == "application/problem+json"


def test_an_empty_list_has_its_first_page(admin_client):
    assert admin_client.get(GROUPS, {"p": "1"}).status_code == HTTPStatus.OK
    assert admin_client.get(GROUPS).status_code == HTTPStatus.OK


def test_a_page_whose_rows_begin_past_the_databases_integers_names_none():
    assert requested_page(str(MAX_ROW_NUMBER // 100), 100) == MAX_ROW_NUMBER // 100
    with pytest.raises(Http404, match="No page"):
        requested_page(str(MAX_ROW_NUMBER // 100 + 1), 100)
