"""Password hashing: Argon2id with OWASP's parameters instead of Django's defaults.

Django's Argon2PasswordHasher takes 100 MiB and parallelism 8 per hash, so every login
is a memory burst and a few parallel logins fill a worker's memory. OWASP's password
storage cheat sheet lists m=19 MiB, t=2, p=1 as a minimum configuration of equal
strength. The algorithm name stays "argon2": hashes made with the old parameters still
verify (the parameters are in each hash), and Django re-hashes them with these at the
next successful login (must_update compares the parameters).
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class OWASPArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
