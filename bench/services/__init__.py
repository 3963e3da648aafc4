"""Real daemons and servers the bench runs inside its namespaces."""
