"""Tables of the tokens feature."""
