"""Uploads cut short leave no file behind.

gradio 6.31 writes each upload into a temporary file as it arrives and removes
those files when the form is malformed or too big, but not when the client goes
away mid-upload (a closed tab, a dropped connection): five cut uploads left
17 MB in its cache. `remove_cut_uploads()` makes its parser remove them on any
failure. It patches gradio's parser class, once per process.
"""

from __future__ import annotations

from pathlib import Path


def remove_cut_uploads() -> None:
    from gradio.route_utils import GradioMultiPartParser

    original = GradioMultiPartParser.parse
    if getattr(original, "removes_cut_uploads", False):
        return

    async def parse(self):
        try:
            return await original(self)
        except BaseException:  # ClientDisconnect, a cancelled request, anything gradio does not clean up
            for file in self._files_to_close_on_error:
                try:
                    file.close()
                except OSError:
                    pass
                Path(file.name).unlink(missing_ok=True)
            raise

    parse.removes_cut_uploads = True
    GradioMultiPartParser.parse = parse
