"""Saving results with their recipe, reading recipes back, and the history of saved files.

`files` writes atomically; one module per result type knows its files (`image`,
`text`, `audio`, `transcript`); `infotext` speaks AUTOMATIC1111's format.
"""

from studio.outputs.files import SAVERS, OutputError, day_folder, read_recipe, save, save_in, slug, write_files

__all__ = ["SAVERS", "OutputError", "day_folder", "read_recipe", "save", "save_in", "slug", "write_files"]
