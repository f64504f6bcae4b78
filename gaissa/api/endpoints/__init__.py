"""Endpoint modules of the API, one per area; importing a module registers its operations."""
