"""The gateway's routing proxy: route table, edge auth, atomic throttles, upstream pools."""
