"""What the consumers API reads and answers."""

from __future__ import annotations

from typing import Any, cast

from django.core.validators import RegexValidator
from rest_framework import serializers

from common.http.fields import StrictBooleanField, StrictCharField, StrictIntegerField
from gateway_project.consumers import services
from gateway_project.consumers.models import QUOTA_PERIODS, ApiKey, Consumer


class ApiKeySerializer(serializers.ModelSerializer[ApiKey]):
    status = serializers.SerializerMethodField()

    class Meta:
        model = ApiKey
        fields: tuple[str, ...] = (
            "id",
            "prefix",
            "scopes",
            "status",
            "created_at",
            "expires_at",
            "revoked_at",
        )
        read_only_fields = fields

    def get_status(self, key: ApiKey) -> str:
        if key.revoked_at is not None:
            return "revoked"
        return "active" if key.is_usable() else "expired"


class NewApiKeySerializer(ApiKeySerializer):
    key = serializers.SerializerMethodField(help_text="The key itself: shown this once only.")

    class Meta(ApiKeySerializer.Meta):
        fields: tuple[str, ...] = ("key", *ApiKeySerializer.Meta.fields)
        read_only_fields = fields

    def get_key(self, key: ApiKey) -> str:
        raw: str = self.context["raw_key"]
        return raw


class ApiKeyCreateSerializer(serializers.Serializer[Any]):
    """The scopes are the route table's (an enum in the schema, read when the serializer
    is made: the table is the settings')."""

    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=[]), min_length=1, max_length=20
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scopes = cast(serializers.ListField, self.fields["scopes"])  # the field above
        cast(serializers.ChoiceField, scopes.child).choices = services.known_scopes()


class ConsumerSerializer(serializers.ModelSerializer[Consumer]):
    keys = ApiKeySerializer(many=True, read_only=True)

    class Meta:
        model = Consumer
        fields = (
            "id",
            "name",
            "description",
            "owner_id",
            "rate",
            "quota",
            "quota_period",
            "is_active",
            "created_at",
            "keys",
        )
        read_only_fields = ("id", "created_at", "keys")


# What parse_rate reads ('100/min', '30/5m'), or blank: the schema says what is refused.
RATE = RegexValidator(r"^(\s*\d+\s*/\s*\d*\s*[smhd][a-z]*\s*)?$", "expected like '100/min'")


class ConsumerWriteSerializer(serializers.Serializer[Any]):
    """A user names and describes their consumer; staff also set its owner and limits."""

    name = StrictCharField(max_length=100)
    description = StrictCharField(max_length=2000, required=False, allow_blank=True)
    owner_id = StrictIntegerField(min_value=1, max_value=9_223_372_036_854_775_807, required=False)
    # Not trimmed: the length the schema bounds is the length sent.
    rate = StrictCharField(
        max_length=32,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        validators=[RATE],
    )
    quota = StrictIntegerField(
        min_value=1, max_value=2_147_483_647, required=False, allow_null=True
    )
    quota_period = serializers.ChoiceField(choices=QUOTA_PERIODS, required=False)
    is_active = StrictBooleanField(required=False)

    STAFF_ONLY = ("owner_id", "rate", "quota", "quota_period", "is_active")
