"""The mock HeNB: a software unit run as its own process in the unit's namespace, over the real bench network."""
