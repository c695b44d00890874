"""Entry point: `python app.py` locally, and the app file of a Hugging Face Space.

Binds 127.0.0.1 locally and 0.0.0.0 on Spaces (or with --host). Startup loads
no model (but the image model with STUDIO_COMPILE=1, compiled before serving, and
every model on ZeroGPU) and calls no analytics or telemetry service.
"""

from __future__ import annotations

import os
import sys

# Before gradio or huggingface_hub are imported: they read these at import time.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

if os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "true", "yes"):
    # ZeroGPU patches torch's CUDA initialisation: `spaces` must come before anything imports torch.
    import spaces  # noqa: F401


def main(argv: list[str] | None = None) -> None:
    from studio.serving.cli import main as cli_main

    cli_main(["serve", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
