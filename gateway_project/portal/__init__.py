"""Self-service consumers and keys: `/gateway/consumers…` for a signed-in user's own
consumers, every consumer for staff (gateway_project.consumers holds the rules)."""
