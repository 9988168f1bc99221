"""The local user table of an admin whose accounts belong to the user service.

The gateway's, product service's and order service's admins sign people in through the
user service (common.identity.sso); each keeps a local copy of every account that signed in,
whose active/staff/superuser flags the sign-on rewrites from the user service's claims. An
"Add user" button and editable flags there would suggest a second account system, so
(`install`, from common.apps) the section is named for what it holds, the list says where
accounts are managed, nothing is added here, and of an account only its groups and
permissions in this admin can change. The user service's own admin is left as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse

from common.identity.admin_nav import admin_links
from common.settings.namespaces import common_settings

# Generic in the stubs only (Django's own class is not subscriptable).
if TYPE_CHECKING:
    _UserAdmin = UserAdmin[User]
else:
    _UserAdmin = UserAdmin

SECTION = "Signed-on accounts and this admin's permissions"
# Rewritten from the user service at every sign-in and re-check: read-only here.
FOLLOWS_THE_USER_SERVICE = (
    "username",
    "password",
    "first_name",
    "last_name",
    "email",
    "is_active",
    "is_staff",
    "is_superuser",
    "last_login",
    "date_joined",
)


def users_admin_url() -> str:
    link = next(link for link in admin_links() if link.rel == "admin-users")
    return common_settings.PUBLIC_ORIGIN + link.href


class SignedOnUserAdmin(_UserAdmin):
    """Accounts that signed in here: only their groups and permissions change here."""

    change_list_template = "admin/signed_on_users_change_list.html"
    readonly_fields = FOLLOWS_THE_USER_SERVICE
    list_display = ("username", "email", "is_staff", "is_superuser", "last_login")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return super().changelist_view(
            request, {**(extra_context or {}), "users_admin_url": users_admin_url()}
        )


def install() -> None:
    """In a project whose user model is Django's own (every one but the user service)."""
    if get_user_model() is not User:
        return
    # The admin index titles a section with its app's verbose_name.
    apps.get_app_config("auth").verbose_name = SECTION
    if admin.site.is_registered(User):
        admin.site.unregister(User)
    admin.site.register(User, SignedOnUserAdmin)
