"""What is recorded of proxied requests, below the proxy that records and the pages that
read it (`traffic`: the dashboard's 10 s buckets)."""
