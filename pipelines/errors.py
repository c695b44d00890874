"""Errors whose message is written for the person using the studio.

`ValueError` covers bad input; these cover the rest of what a user can act on.
The UI, the CLI and the batch runner show their messages as they are.
"""


class UserFacingError(Exception):
    """An error whose message tells the user what happened and how to fix it."""


class ModelLoadError(UserFacingError, RuntimeError):
    """A model could not be loaded (offline, unknown, incomplete or unsafe)."""


class OutOfMemory(UserFacingError, RuntimeError):
    """The device ran out of memory during a generation."""


class Cancelled(UserFacingError, RuntimeError):
    """The caller stopped a generation before it finished."""
