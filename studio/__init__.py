"""The studio: chat, text, images, speech and music behind one Python API.

    from studio import Studio
    studio = Studio(preset="tiny")
    result = studio.text_to_image("a red fox", seed=1, steps=2)
    studio.save(result)

Importing this package loads no model and no deep-learning library: models load
on first use, inside the operation that needs them.
"""

__version__ = "0.1.0"

from pipelines.results import AudioResult, ImageResult, TextResult, Transcript  # noqa: E402
from studio.core import Studio  # noqa: E402

__all__ = ["Studio", "ImageResult", "TextResult", "AudioResult", "Transcript", "__version__"]
