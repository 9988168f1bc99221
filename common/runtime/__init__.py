"""How a project's process runs: the entrypoint, gunicorn's config and worker, the reading
of requests, slow-client bounds, registration with the gateway, and WSGI.
"""
