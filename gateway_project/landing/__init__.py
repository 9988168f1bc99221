"""The gateway's front page at `/` (HTML for a browser, JSON for an API client) and its
/favicon.ico."""
