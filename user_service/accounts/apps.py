"""Accounts: users, credentials and tokens."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "user_service.accounts"
    label = "accounts"
    verbose_name = "Accounts"
