"""Consumers: the programs that call the API with keys (a partner's backend, a cron job).

A consumer belongs to a user of the user service (its owner) and holds at most two
active API keys, so a key rotates without downtime. A key is shown once, when it is
made; the gateway keeps its public prefix and a keyed hash only (keys.py). The proxy
checks a key at the edge (gateway_project.proxy.authentication), applies the route
table's scopes, the consumer's rate limit and quota, and tells the service who the
consumer is in headers only the gateway can set.
"""
