"""Deliver releases the product service missed, and fail orders stuck in pending.

Schedule it (cron, a Kubernetes CronJob) every minute or so:

    python manage_all.py orders reconcile
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from order_service.orders.services import order_reconcile


class Command(BaseCommand):
    help = (
        "Fail orders pending longer than ORDERS_PENDING_TIMEOUT and release their stock; "
        "retry stock releases that could not be delivered."
    )

    def handle(self, *args, **options) -> None:
        report = order_reconcile()
        self.stdout.write(
            f"failed {len(report.failed_pending)} stuck pending order(s); "
            f"released {len(report.released)}; "
            f"{len(report.still_pending_release)} release(s) still pending"
        )
