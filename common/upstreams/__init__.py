"""Each service's instances as a caller sees them: targets (static URLs, DNS names), the
pool with its balancer and passive health, circuit breakers (shared in Redis) and the
retry budget. The gateway builds its upstreams on them (gateway_project.upstreams adds
the registry, active health and bulkheads); every service calling another does too
(common.identity.service_client)."""
