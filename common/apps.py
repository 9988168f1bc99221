"""The shared app every project installs: ready() registers the OpenAPI auth scheme, starts
tracing, names the admin after the project (its "View site" is the gateway's landing page), has its
changelists check page numbers and, outside the user service, labels the local copies of
signed-on accounts (common.identity.admin_accounts)."""

from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "Common mechanism"

    def ready(self) -> None:
        from pathlib import Path

        from django.conf import settings
        from django.contrib import admin

        from common.http import schema  # noqa: F401 -- registers the OpenAPI auth scheme
        from common.identity import admin_accounts, admin_pages
        from common.observability import tracing
        from common.settings.namespaces import common_settings
        from common.topology import SERVICES

        # Four admins look alike; the header says which one this is.
        title = SERVICES[common_settings.SERVICE_NAME].title
        admin.site.site_header = f"{title} administration"
        admin.site.site_title = f"{title} admin"
        # "View site": the gateway's landing page, where every admin is served from.
        admin.site.site_url = f"{common_settings.PUBLIC_ORIGIN}/"
        # whitenoise serves from it (and warns when it is missing) before collectstatic ran.
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
        tracing.configure(common_settings.SERVICE_NAME)
        admin_pages.install()
        admin_accounts.install()
