"""Operators' admin: products (stock edited as a difference), reservations read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.http import HttpRequest
from django.utils.functional import cached_property
from rest_framework.exceptions import APIException

from product_service.catalog import services
from product_service.catalog.cache import products_changed
from product_service.catalog.models import Product, Reservation, ReservationItem


class ProductAdminForm(forms.ModelForm):
    """Remembers the stock the operator saw, so saving applies only their difference."""

    class Meta:
        model = Product
        fields = ["sku", "name", "description", "price", "stock", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "stock" in self.fields:
            self.fields["stock"].show_hidden_initial = True

    def stock_delta(self) -> int:
        """The operator's change: the new value minus the value the page showed."""
        if "stock" not in self.changed_data:
            return 0
        field = self.fields["stock"]
        seen = field.to_python(
            field.hidden_widget().value_from_datadict(
                self.data, self.files, self.add_initial_prefix("stock")
            )
        )
        if seen is None:  # no hidden initial posted: fall back to the value read now
            seen = self.initial.get("stock", 0)
        return self.cleaned_data["stock"] - seen


class NoCountPaginator(Paginator):
    """Pages without COUNT(*): the count is what this page and one row beyond show.

    `show_full_result_count = False` removes only the admin's second count; the
    paginator still counts the (filtered) table on every page. This one reads the
    current page plus one row and claims exactly enough rows for a "next" page to
    exist, so a page costs one LIMIT query at any table size.
    """

    def __init__(self, *args: Any, page_number: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.page_number = max(1, page_number)

    @cached_property
    def count(self) -> int:
        start = (self.page_number - 1) * self.per_page
        seen = len(self.object_list[start : start + self.per_page + 1])
        if seen == 0 and self.page_number > 1:
            return start  # past the end: the admin then shows the last page it knows
        return start + seen


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductAdminForm
    list_display = ["sku", "name", "price", "stock", "units_received", "is_active", "updated_at"]
    list_display_links = ["sku", "name"]
    list_editable = ["stock", "is_active"]
    list_filter = ["is_active", ("deleted_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["sku", "name"]
    readonly_fields = ["units_received", "deleted_at", "created_at", "updated_at"]
    actions = ["restore"]

    @admin.action(description="Restore the selected deleted products (inactive until set)")
    def restore(self, request: HttpRequest, queryset: Any) -> None:
        restored = 0
        for product in queryset.filter(deleted_at__isnull=False):
            services.product_restore(product=product)
            restored += 1
        self.message_user(request, f"{restored} product(s) restored.")

    ordering = ["id"]
    show_full_result_count = False  # no COUNT(*) over a large catalog
    paginator = NoCountPaginator

    def get_paginator(  # type: ignore[override]  # Django's arguments pass through **kwargs
        self, request: HttpRequest, queryset: Any, per_page: int, **kwargs: Any
    ) -> NoCountPaginator:
        try:
            page = int(request.GET.get("p", 1))
        except ValueError:
            page = 1
        return NoCountPaginator(queryset, per_page, page_number=page, **kwargs)

    def get_changelist_form(self, request: HttpRequest, **kwargs: Any) -> type[forms.ModelForm]:
        return super().get_changelist_form(request, form=ProductAdminForm, **kwargs)

    def save_model(
        self, request: HttpRequest, obj: Product, form: ProductAdminForm, change: bool
    ) -> None:
        if not change:
            fields = {f: form.cleaned_data[f] for f in form.cleaned_data if f != "id"}
            created = services.product_create(**fields)
            obj.pk, obj.created_at, obj.updated_at = (
                created.pk,
                created.created_at,
                created.updated_at,
            )
            obj.units_received = created.units_received
            return
        others = [name for name in form.changed_data if name != "stock"]
        if others:
            obj.save(update_fields=[*others, "updated_at"])
        try:
            services.product_stock_adjust(product_id=obj.pk, delta=form.stock_delta())
        except APIException as error:
            messages.error(request, f"{obj.sku}: stock not changed: {error.detail}")
        products_changed([obj.pk])
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Product) -> None:
        products_changed([obj.pk])
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        products_changed(list(queryset.values_list("pk", flat=True)))
        super().delete_queryset(request, queryset)


class ReservationItemInline(admin.TabularInline):
    model = ReservationItem
    fields = ["product", "name", "unit_price", "quantity"]
    readonly_fields = fields  # type: ignore[assignment]  # field names only: no groups
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    """Read-only: reservations change only through the reservation API."""

    list_display = ["order_ref", "created_at", "released_at"]
    list_filter = [("released_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["order_ref"]
    readonly_fields = ["order_ref", "created_at", "released_at"]
    inlines = [ReservationItemInline]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
