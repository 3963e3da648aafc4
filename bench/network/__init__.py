"""The bench network: namespaces, links, addresses and routes, made with pyroute2."""
