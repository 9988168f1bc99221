"""The gateway's response cache: `lookup` and `after_upstream` around the upstream call.

Routes opt in with `"cache": SECONDS` in the route table. Entries live in Redis when the
default cache is django-redis, else in process memory; writes through the gateway and
the services' surrogate-key purges (`POST /internal/cache/purge`) invalidate them.
"""

from gateway_project.response_cache.hooks import after_upstream, invalidate, lookup

__all__ = ["after_upstream", "invalidate", "lookup"]
