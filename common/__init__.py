"""Mechanism shared by the gateway and the services: settings, auth, health, errors, logging.

Importing this package must not import Django: `manage_all.py` reads `common.topology`
with the standard library alone.
"""
