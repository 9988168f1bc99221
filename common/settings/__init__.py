"""Every variable a project reads: `env` (the environment and dev defaults), `namespaces`
(typed COMMON/GATEWAY settings), `base` (the shared Django settings) and `server_env`
(the server's own variables, standard library only).
"""
