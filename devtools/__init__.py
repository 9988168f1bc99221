"""Tools for working on the platform, not for running it: the launcher behind
`manage_all.py`, the end-to-end harness that tests and scripts share, and the pytest plugin.
Nothing here is imported by a running project (the Docker image does not carry it).
"""
