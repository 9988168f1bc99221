"""Routing: the route table as typed routes (`table`), the policies a method may have
(`policies`) and the path converters its rows use (`converters`). It knows no instance
and no transport; the proxy makes the routes URL patterns (gateway_project.proxy.urls).
"""
