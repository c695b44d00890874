"""The errors a user can act on (see `pipelines.errors`), for the layers above the studio (the UI)."""

from pipelines.errors import Cancelled, ModelLoadError, OutOfMemory, UserFacingError

__all__ = ["Cancelled", "ModelLoadError", "OutOfMemory", "UserFacingError"]
