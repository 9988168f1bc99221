"""What `manage_all.py` runs: the virtualenv, the `up` supervisor, `logs`, `test`, `bench`.

Standard library only (it runs before the virtualenv exists), and driven by the service
registry (common.topology): every list of projects here is computed from it.

    venv.py         .venv and the locked dependencies
    plan.py         what `up` starts: order, ports, colours, environment, the URL table
    supervisor.py   `up`: migrate, seed, start, wait for /ready, restart, stop
    logs.py         the merged JSON-lines log `up` writes and `logs REQUEST_ID` reads
    suites.py       `test`: the checks and one pytest session per project
    passthrough.py  `<project> <django command>` and `bench`
"""
