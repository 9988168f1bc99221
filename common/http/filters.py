"""Query parameters that take what the schema says and nothing more.

django-filter reads the last of a repeated parameter and lets a NumberFilter take any
decimal (`?user_id=0.5` on an integer column) up to 1e50 whatever the column holds. A
FilterSet on `StrictFilterSet` refuses a repeated parameter with 400; `IntegerFilter`
takes digits only, `TrueFalseFilter` `true` or `false` only; `BoundedNumberFilter` says
its bounds in the schema and keeps to them.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.http import QueryDict
from django_filters import rest_framework as filters
from drf_spectacular.drainage import set_override

GIVE_ONCE = "Give this parameter once."


class StrictFilterSet(filters.FilterSet):
    """A FilterSet whose parameters appear at most once each."""

    def is_valid(self) -> bool:
        valid = super().is_valid()
        for name in self.filters:
            if len(cast(QueryDict, self.data).getlist(name)) > 1:  # a request's query
                self.form.add_error(name, GIVE_ONCE)
                valid = False
        return valid


class _DigitsField(forms.IntegerField):
    """An integer written as digits (Django's IntegerField also takes `5.0`)."""

    _digits = re.compile(r"^-?[0-9]+$")

    def to_python(self, value: Any) -> int | None:
        if value not in self.empty_values and not self._digits.match(str(value).strip()):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class IntegerFilter(filters.NumberFilter):
    field_class = _DigitsField  # type: ignore[assignment]  # the stubs: DecimalField only


class _TrueFalseField(forms.NullBooleanField):
    """`true` or `false` (any case), as OpenAPI writes a boolean; django-filter reads any
    other text as "not given" and filters nothing."""

    widget = forms.TextInput

    def to_python(self, value: Any) -> bool | None:  # type: ignore[override]  # as Django's
        if value in self.empty_values:
            return None
        text = str(value).strip().lower()
        if text not in ("true", "false"):
            raise forms.ValidationError("Must be true or false.", code="invalid")
        return text == "true"

    def validate(self, value: Any) -> None:
        pass


class TrueFalseFilter(filters.BooleanFilter):
    field_class = _TrueFalseField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["widget"] = forms.TextInput  # not BooleanWidget, which reads "AAA" as None
        super().__init__(*args, **kwargs)


class BoundedNumberFilter(filters.NumberFilter):
    """A number between `min_value` and `max_value`, both in the schema too."""

    def __init__(self, *args: Any, min_value: Decimal, max_value: Decimal, **kwargs: Any) -> None:
        super().__init__(*args, min_value=min_value, max_value=max_value, **kwargs)
        schema = {"type": "number", "minimum": float(min_value), "maximum": float(max_value)}
        set_override(self, "field", schema)
