"""Consumers and their keys in the gateway's admin: limits set here, keys revoked here
(keys are made through `/gateway/consumers/{id}/keys`, the one place a key is shown)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from gateway_project.consumers import services
from gateway_project.consumers.models import ApiKey, Consumer

# The admin's classes are generic in the stubs only (Django's own are not subscriptable).
if TYPE_CHECKING:
    _KeyInline = admin.TabularInline[ApiKey, Consumer]
    _ConsumerAdmin = admin.ModelAdmin[Consumer]
    _KeyAdmin = admin.ModelAdmin[ApiKey]
else:
    _KeyInline = admin.TabularInline
    _ConsumerAdmin = _KeyAdmin = admin.ModelAdmin


class ApiKeyInline(_KeyInline):
    model = ApiKey
    fields = ("prefix", "scopes", "created_at", "expires_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Consumer)
class ConsumerAdmin(_ConsumerAdmin):
    list_display = ("name", "owner_id", "rate", "quota", "quota_period", "is_active", "created_at")
    list_filter = ("is_active", "quota_period")
    search_fields = ("name", "=owner_id")
    inlines = (ApiKeyInline,)


@admin.register(ApiKey)
class ApiKeyAdmin(_KeyAdmin):
    list_display = ("prefix", "consumer", "scopes", "created_at", "expires_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("=prefix", "consumer__name")
    readonly_fields = ("consumer", "prefix", "digest", "scopes", "created_at", "revoked_at")
    fields = (*readonly_fields, "expires_at")
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke the selected keys (every gateway within a second)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset:
            services.key_revoke(key=key)
        self.message_user(request, f"{queryset.count()} keys revoked.", messages.SUCCESS)
