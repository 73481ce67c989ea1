"""Exceptions of the cdp_streams actors."""


class CannotRecover(Exception):
    """The mechanism knows it cannot reach the point (reported, not claimed)."""
