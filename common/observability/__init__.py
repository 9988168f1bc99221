"""What a request leaves behind: per-request context, JSON logs, traces, health and the
gauges computed at scrape time.
"""
