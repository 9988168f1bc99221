"""Django's createsuperuser with `--email`: the account's email is optional (not in
REQUIRED_FIELDS, so `--noinput` does not insist on one), yet can be given, as with the
other projects' users (`manage_all.py users createsuperuser --email x@example.com`)."""

from __future__ import annotations

from django.contrib.auth.management.commands import createsuperuser


class Command(createsuperuser.Command):
    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        if "email" not in self.UserModel.REQUIRED_FIELDS:
            parser.add_argument("--email", help="The superuser's email address (optional).")

    def handle(self, *args, **options) -> None:
        if not options.get("email") or "email" in self.UserModel.REQUIRED_FIELDS:
            super().handle(*args, **options)
            return
        # Given, the email is taken (and validated) as a required field's would be; a
        # command runs once per process, and the model's own list is put back after.
        required = self.UserModel.REQUIRED_FIELDS
        self.UserModel.REQUIRED_FIELDS = [*required, "email"]
        try:
            super().handle(*args, **options)
        finally:
            self.UserModel.REQUIRED_FIELDS = required
