"""Loading models safely and failing with a message a user can act on.

Weights are only ever read from safetensors (`use_safetensors=True`) and remote
code is never run (`trust_remote_code=False`): a pickle checkpoint can execute
arbitrary code when loaded. Every failure becomes one `ModelLoadError` naming
the model and the ways to fix it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pipelines import folders
from pipelines.devices import generator_untouched
from pipelines.errors import ModelLoadError

T = TypeVar("T")

# transformers and diffusers build a model's modules on the "meta" device by
# patching torch.nn.Module process-wide while they load; a second load in another
# thread at that moment gets meta tensors ("Cannot copy out of meta tensor"). So
# loads take turns, whichever Studio or thread asks. Some loads also draw from
# torch's global generator, so they wait for seeded blocks (devices.seeded) too.
# Reentrant: a load may load a part of its own (an image model its preview decoder).
_LOADING = threading.RLock()

SAFE_LOAD = {"use_safetensors": True}
PICKLE_SUFFIXES = (".bin", ".ckpt", ".pt", ".pth", ".pkl")
FIX = (
    "To fix: connect to the internet once so it downloads into the Hugging Face cache, "
    "point the preset at a local folder holding the model, "
    "or run offline with the tiny preset (STUDIO_PRESET=tiny)."
)
FIX_FOLDER = (
    "To fix: a file of the folder may be damaged or incomplete (a cut download, a disk error): "
    "copy or download the model again, or point the preset at another folder."
)


def looks_like_path(model: str) -> bool:
    """A local path rather than a hub id ("org/name")."""
    return model.startswith(("/", ".", "~")) or model.count("/") > 1 or "\\" in model or Path(model).exists()


def check_local_folder(model: str) -> None:
    """Refuse a missing folder or one holding only pickle weights."""
    folder = Path(model).expanduser()
    if not folder.exists():
        raise ModelLoadError(f"model folder {model!r} does not exist. Check the path in the preset.")
    if folder.is_file() and folder.suffix == ".safetensors":
        return  # a single-file checkpoint: the loader decides whether it reads such files
    if folder.is_file() and folder.suffix in PICKLE_SUFFIXES:
        raise ModelLoadError(
            f"model {folder.name!r} is a pickle checkpoint, which can run code when loaded; the studio loads safetensors only. "
            "Convert it once where you trust the file, e.g. with diffusers: "
            "load it with StableDiffusionPipeline.from_single_file and save_pretrained a folder, or use the safetensors convert script"
        )
    if not folder.is_dir():
        raise ModelLoadError(f"model {model!r} is a file; point to the folder that holds the model (its config.json or model_index.json).")
    files = [p for p in folder.rglob("*") if p.is_file()]
    if any(p.suffix == ".safetensors" for p in files):
        return
    if any(p.suffix in PICKLE_SUFFIXES for p in files):
        raise ModelLoadError(
            f"model folder {model!r} holds only pickle weights (.bin/.ckpt/.pt), which can run code when loaded; "
            "the studio loads safetensors only. Convert it (e.g. with the `safetensors` convert script) or use a safetensors copy."
        )
    raise ModelLoadError(f"model folder {model!r} holds no weights (no .safetensors file). It may be incomplete: download it again.")


def quiet_libraries() -> None:
    """Keep the libraries' loading chatter (per-component bars, the torchvision notice) off the console.

    Download bars from huggingface_hub stay: a first download can take minutes.
    """
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # read when transformers is first imported
    import diffusers
    import huggingface_hub
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    diffusers.logging.set_verbosity_error()
    diffusers.logging.disable_progress_bar()  # loading bars only; denoising bars are the pipeline's own
    huggingface_hub.utils.enable_progress_bars()


def load(model: str, what: str, loader: Callable[[str], T]) -> T:
    """`loader(model)`, with every failure turned into one clear `ModelLoadError`."""
    quiet_libraries()
    if not isinstance(model, str) or not model.strip():
        raise ModelLoadError(f"no model is set for {what}; name one in the preset")
    local = looks_like_path(model)
    if local:
        check_local_folder(model)
        if Path(model).expanduser().is_dir():
            folders.check_kind(Path(model).expanduser(), model, what)
        model = str(Path(model).expanduser())
    try:
        with _LOADING, generator_untouched():
            return loader(model)
    except ModelLoadError:
        raise
    except Exception as error:  # any failure here means the model is unusable: say which and why
        reason = str(error).strip().splitlines()[0].rstrip(".") if str(error).strip() else type(error).__name__
        fix = FIX_FOLDER if local else FIX  # a folder that is there but does not load will not download itself
        held = folders.describe(Path(model)) if local and Path(model).is_dir() else None
        if held:  # its kind fits the task, so say what it is: the reason may be a variant the task lacks
            fix = f"The folder holds {held}. {fix}"
        raise ModelLoadError(f"could not load model {model!r} for {what}: {reason[:300]}. {fix}") from error
