"""The proxy: the route table made URL patterns, forwarded to the services."""

from django.apps import AppConfig


class ProxyConfig(AppConfig):
    name = "gateway_project.proxy"
    label = "gateway_proxy"
    verbose_name = "Gateway proxy"

    def ready(self) -> None:
        from common.observability.scrape_gauges import scrape_gauge_register
        from gateway_project.observability.record import flush_on_scrape

        scrape_gauge_register(flush_on_scrape, dispatch_uid="gateway-record-flush")
