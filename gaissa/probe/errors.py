"""The probe's one error type."""


class ProbeError(Exception):
    """A model file the probe cannot read; the message names the file, the problem and the fix."""
