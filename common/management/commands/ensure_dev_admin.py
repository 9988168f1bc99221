"""Create the development admin once: from DJANGO_SUPERUSER_USERNAME/PASSWORD, else generated.

A generated password is printed the first time only and kept under var/secrets.
"""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from common.settings.env import dev_admin, dev_file, is_development, var_dir


class Command(BaseCommand):
    help = "Create the development superuser if it does not exist (APP_ENV=development only)."

    def handle(self, *args: object, **options: object) -> None:
        if not is_development():
            raise CommandError("ensure_dev_admin runs with APP_ENV=development only")
        username, password, email = dev_admin()
        generated = not password
        if generated:
            password = dev_file("admin_password", lambda: secrets.token_urlsafe(12))
        kept = var_dir() / "secrets" / "admin_password"
        user_model = get_user_model()
        if user_model.objects.filter(username=username).exists():
            # Every `up` after the first says where the password is, not only the first.
            where = f"kept in {kept}" if generated else "DJANGO_SUPERUSER_PASSWORD"
            self.stdout.write(f"admin user {username!r} exists; its password: {where}")
            return
        user_model.objects.create_superuser(
            username=username,
            email=email,
            password=password,
        )
        source = f"generated, kept in {kept}" if generated else "from DJANGO_SUPERUSER_PASSWORD"
        self.stdout.write(f"admin user {username!r} created, password {password!r} ({source})")
