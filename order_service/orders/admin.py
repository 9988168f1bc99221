"""The orders admin: read and inspect, never add (orders are placed through the API)."""

from django.contrib import admin

from order_service.orders.models import Order, OrderItem


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    fields = ("product_id", "name", "unit_price", "quantity")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("id", "user_id", "status", "stock", "total", "created_at")
    list_filter = ("status", "stock", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=id", "=user_id", "=idempotency_key")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    inlines = (OrderItemInline,)
    readonly_fields = (
        "id",
        "user_id",
        "status",
        "stock",
        "total",
        "idempotency_key",
        "request_fingerprint",
        "response_status",
        "response_body",
        "failure_reason",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request) -> bool:
        # Orders are placed through the API, which reserves their stock.
        return False
