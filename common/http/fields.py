"""Serializer fields that take only the JSON type their schema names.

DRF is lenient on input: a CharField turns `0` into `"0"`, a BooleanField reads `0`, `"no"`
and `"off"`, an IntegerField reads `"12"` and `12.0`. Each of those is a request the
OpenAPI document refuses (`type: string`, `type: boolean`, `type: integer`), so a client
that validates against the schema and one that does not would be told different things,
and a username sent as a number would be counted apart from the same name as a string.
These fields refuse any other JSON type with DRF's own "invalid" message of the field (a
400 problem naming it). `StrictTypesMixin` gives a ModelSerializer the same fields
for the model fields it maps.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from django.db import models
from rest_framework import serializers

# Text DRF's CharField takes at all: no NUL (its own validator; lone surrogates, which it
# refuses too, cannot be sent as UTF-8 and a schema's regex cannot name them portably).
TEXT_CHAR = r"[^\u0000]"
ANY_TEXT = rf"^{TEXT_CHAR}*$"


def text_with_one_outside(excluded: str) -> str:
    r"""Such text with at least one character outside the regex class `excluded` (`\s`:
    not whitespace alone; `\d`: not digits alone)."""
    return rf"^{TEXT_CHAR}*[^{excluded}\u0000]{TEXT_CHAR}*$"


class _JSONType:
    """Refuse a value whose JSON type is not one of `json_types` (bool is not an int)."""

    json_types: ClassVar[tuple[type, ...]]

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) is not (bool in self.json_types) or not isinstance(
            data, self.json_types
        ):
            self.fail("invalid")  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictCharField(_JSONType, serializers.CharField):
    json_types = (str,)


class NewPasswordField(StrictCharField):
    """A password being set. AUTH_PASSWORD_VALIDATORS judge it (all their messages at once,
    in the service); its schema says what of theirs a schema can: the minimum length and
    "not all digits", and the rest in words."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help_text",
            "Not all digits, not a commonly used password and not like the username or email.",
        )
        super().__init__(**kwargs)

    @property
    def schema_extra(self) -> dict[str, Any]:
        from django.contrib.auth.password_validation import (
            MinimumLengthValidator,
            get_default_password_validators,
        )

        lengths = [
            v.min_length
            for v in get_default_password_validators()
            if isinstance(v, MinimumLengthValidator)
        ]
        extra: dict[str, Any] = {"pattern": text_with_one_outside(r"\d")}
        if lengths:
            extra["minLength"] = max(lengths)
        return extra


class StrictEmailField(_JSONType, serializers.EmailField):
    json_types = (str,)


class StrictBooleanField(_JSONType, serializers.BooleanField):
    json_types = (bool,)


class StrictIntegerField(_JSONType, serializers.IntegerField):
    json_types = (int,)


class StrictDecimalField(serializers.DecimalField):
    """A decimal as the answers write it: a JSON string of digits with at most
    `decimal_places` after the point, no sign unless `min_value` is negative, no exponent.
    The pattern is the schema's too (common.http.schema), so both refuse the same text."""

    default_error_messages = {"invalid": 'Must be a string of digits like "9.99".'}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        whole = (self.max_digits or 20) - (self.decimal_places or 0)
        sign = "-?" if self.min_value is None or self.min_value < 0 else ""
        places = rf"(?:\.[0-9]{{1,{self.decimal_places}}})?" if self.decimal_places else ""
        self.schema_extra = {"pattern": rf"^{sign}[0-9]{{1,{whole}}}{places}$"}
        # The form checked here takes a sign, so "-1" is told the minimum, not the form.
        self._form = re.compile(rf"^-?[0-9]+{places}$")

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str) or self._form.search(data) is None:
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictTypesMixin:
    """A ModelSerializer whose mapped model fields take only their JSON type."""

    serializer_field_mapping: ClassVar[dict[type, type]] = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.DecimalField: StrictDecimalField,
        models.TextField: StrictCharField,
        models.SlugField: StrictCharField,
        models.EmailField: StrictEmailField,
        models.BooleanField: StrictBooleanField,
        models.IntegerField: StrictIntegerField,
        models.BigIntegerField: StrictIntegerField,
        models.PositiveIntegerField: StrictIntegerField,
        models.PositiveSmallIntegerField: StrictIntegerField,
        models.SmallIntegerField: StrictIntegerField,
    }
