"""Tables of the roi feature."""
