"""Tables of the sync feature."""
