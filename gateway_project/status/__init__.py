"""The status API, a page of the top layer: `/health` (every service's readiness, as the
upstream pools know it) and `/gateway/services` (every instance, staff)."""
