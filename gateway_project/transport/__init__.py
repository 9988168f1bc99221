"""Transport, the gateway's bottom layer: the HTTP client to the services (`client`: one
exchange, its errors, `Answer`) and what crosses the hop (`forwarding`: headers both ways,
the client's address, an answer made a Django response). It knows no route and no instance.
"""
