"""Connectors: the only modules that send traffic to other hosts."""
