"""The user service's request and answer shapes; the rules stay in services.py."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from common.http.fields import (
    NewPasswordField,
    StrictCharField,
    StrictEmailField,
)
from user_service.accounts.models import User

# A password longer than this is refused before any hashing work is spent on it.
PASSWORD_MAX_LENGTH = 1024


def _password_field(*, new: bool = False) -> serializers.CharField:
    """A password sent: one being set (`new`) documents the validators' rules."""
    return (NewPasswordField if new else StrictCharField)(
        write_only=True,
        trim_whitespace=False,
        max_length=PASSWORD_MAX_LENGTH,
        style={"input_type": "password"},
    )


class UserSerializer(serializers.ModelSerializer):
    # Optional at registration: an address, or "" (so not OpenAPI's format "email").
    email = serializers.CharField(read_only=True, help_text="Email address, or empty.")

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "date_joined"]
        read_only_fields = fields


class RegisterSerializer(serializers.Serializer):
    """Register input; fields that grant power are refused outright, never ignored silently."""

    forbidden_fields = (
        "id",
        "is_staff",
        "is_superuser",
        "is_active",
        "groups",
        "user_permissions",
        "date_joined",
        "last_login",
    )

    username = StrictCharField(
        max_length=150, validators=User._meta.get_field("username").validators
    )
    password = _password_field(new=True)
    # No default="": OpenAPI would then describe an email whose default is not an email.
    email = StrictEmailField(required=False, allow_blank=True, max_length=254)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        sent = self.initial_data if isinstance(self.initial_data, dict) else {}
        errors = {
            name: ["This field cannot be set by a client."]
            for name in self.forbidden_fields
            if name in sent
        }
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ProfileUpdateSerializer(serializers.Serializer):
    email = StrictEmailField(required=False, allow_blank=True, max_length=254)
    first_name = StrictCharField(required=False, allow_blank=True, max_length=150)
    last_name = StrictCharField(required=False, allow_blank=True, max_length=150)


class CredentialsSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150, trim_whitespace=False)
    password = _password_field()


class RefreshSerializer(serializers.Serializer):
    refresh = StrictCharField(max_length=8192)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class AccountStatusSerializer(serializers.Serializer):
    username = serializers.CharField()
    is_active = serializers.BooleanField()
    is_staff = serializers.BooleanField()
    is_superuser = serializers.BooleanField()
    credential_version = serializers.IntegerField()
    signed_out = serializers.BooleanField(help_text="The sign-on was spent, or never issued.")


class SignOnSerializer(serializers.Serializer):
    sign_on = StrictCharField(help_text="The admins' sign-on credential (admin_sso).")


class SignOutSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150)
    sign_on = StrictCharField(max_length=255, help_text="The sign-on credential's jti.")


class PasswordChangeSerializer(serializers.Serializer):
    old_password = _password_field()
    new_password = _password_field(new=True)
