"""Who may call a route's method: the route table's policies. No Django: settings read it."""

PUBLIC, USER, STAFF = "public", "user", "staff"
POLICIES = (PUBLIC, USER, STAFF)
