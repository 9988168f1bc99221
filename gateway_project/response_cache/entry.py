"""A stored answer as bytes: a JSON head line, then the body as it came.

Not pickle: what comes back from Redis is data, never code to run.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Entry:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    stored_at: float  # time.time() when stored
    age: int = 0  # the Age the answer already had when it reached the gateway

    def age_now(self, now: float | None = None) -> int:
        """RFC 9111 §4.2.3's Age: what it had, plus how long the gateway kept it."""
        elapsed = (time.time() if now is None else now) - self.stored_at
        return self.age + max(0, int(elapsed))

    def dumps(self) -> bytes:
        head = {
            "status": self.status,
            "reason": self.reason,
            "headers": self.headers,
            "stored_at": self.stored_at,
            "age": self.age,
        }
        return json.dumps(head, separators=(",", ":")).encode() + b"\n" + self.body

    @classmethod
    def loads(cls, raw: bytes) -> Entry:
        head, _, body = raw.partition(b"\n")
        fields = json.loads(head)
        return cls(
            status=int(fields["status"]),
            reason=str(fields["reason"]),
            headers=[(str(name), str(value)) for name, value in fields["headers"]],
            body=body,
            stored_at=float(fields["stored_at"]),
            age=int(fields["age"]),
        )
