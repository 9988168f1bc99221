"""A fake product service at the HTTP level, for `responses`."""

from __future__ import annotations

import json
import re
from http import HTTPStatus

import responses

RESERVE = "/internal/reservations"
CATALOG = {1: ("Widget", "2.50"), 2: ("Gadget", "10.00"), 3: ("Gizmo", "0.99")}


def reserved_answer(request):
    """Reserves anything in CATALOG, answering with its name and price snapshots."""
    body = json.loads(request.body)
    items = [
        {
            "product_id": item["product_id"],
            "name": CATALOG[item["product_id"]][0],
            "unit_price": CATALOG[item["product_id"]][1],
            "quantity": item["quantity"],
        }
        for item in body["items"]
    ]
    return HTTPStatus.CREATED, {}, json.dumps({"order_ref": body["order_ref"], "items": items})


def release_url(base_url: str) -> re.Pattern:
    return re.compile(re.escape(base_url) + r"/internal/reservations/(?P<ref>[^/]+)/release$")


def fake_releases(
    mock: responses.RequestsMock, base_url: str, status: int = 200, body=None
) -> list[str]:
    """Answer every release with `status` (or raise `body`); returns the refs released."""
    refs: list[str] = []
    pattern = release_url(base_url)

    def answer(request):
        refs.append(pattern.match(request.url)["ref"])
        if isinstance(body, Exception):
            raise body
        return status, {}, json.dumps({} if status == 200 else {"detail": "x"})

    mock.add_callback("POST", pattern, callback=answer)
    return refs
