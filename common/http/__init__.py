"""Requests in and answers out: middleware, problem details, parsers, pagination, the
OpenAPI pieces and the API path rules every project shares.
"""
