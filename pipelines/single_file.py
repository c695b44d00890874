"""Single-file checkpoints (`.safetensors`, as A1111 and civitai share them), loaded offline.

diffusers' `from_single_file` needs the family's diffusers configs (model index,
UNet, VAE, text encoders, scheduler, tokenizers); it fetches them from the hub
unless given a local folder. The studio ships them:
- `single_file_configs/<family>/` holds the JSON configs of SD 1.x (`v1`), SD 2.x
  (`v2`, the 768 v-prediction model), SDXL base and refiner, and SD 1.x
  ControlNets (`controlnet_v1`, read by `controlnet_file`); no weights;
- the CLIP tokenizer's vocabulary and merges are built from the BPE file that the
  `openai-clip` package ships (`clip/bpe_simple_vocab_16e6.txt.gz`, MIT), read
  without importing the package.
The family is read from the checkpoint's keys (diffusers' own detection). A file
may also carry its diffusers configs in its safetensors metadata (key
`diffusers_config`, a JSON object of file name -> content): they are used instead,
which is how a checkpoint of an unusual shape names its own architecture.

SD 2.x comes in two kinds with the same tensors: the 768-pixel v-prediction model
(SD 2.0/2.1, `v2`) and the 512-pixel epsilon base (2.0/2.1-base, `v2_base`); one
loaded with the other's config draws noise. The kind is read from the file's
ModelSpec metadata (`modelspec.prediction_type`, `modelspec.architecture`, which
kohya's trainers and Stability's tools write), else from AUTOMATIC1111's YAML
beside it (`name.yaml`: `parameterization: "v"` for the 768 model), else from the
UNet itself, as A1111 tells them apart: one step at the last timestep (`predicts_v`).

SD3/3.5 and FLUX single files are refused with a message: their T5 tokenizer
(a sentencepiece model) ships with no package here, so they cannot load offline.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import os
import re
import shutil
import struct
import tempfile
from pathlib import Path

CONFIGS = Path(__file__).resolve().parent / "single_file_configs"
FAMILIES = {"v1": "Stable Diffusion 1.x", "v2": "Stable Diffusion 2.x (768, v-prediction)",
            "v2_base": "Stable Diffusion 2.x base (512)", "xl_base": "SDXL", "xl_refiner": "SDXL refiner"}
# families whose configs are another's with a few values changed: family -> (configs it starts from, changes)
VARIANTS = {"v2_base": ("v2", {"scheduler/scheduler_config.json": {"prediction_type": "epsilon"},
                               "unet/config.json": {"sample_size": 64}})}
# ModelSpec metadata values naming the SD 2.x kind (kohya's sd-scripts, Stability's model spec)
SD2_BY_PREDICTION = {"v": "v2", "v_prediction": "v2", "epsilon": "v2_base", "eps": "v2_base"}
SD2_BY_ARCHITECTURE = {"stable-diffusion-v2-768-v": "v2", "stable-diffusion-v2-512": "v2_base"}
NOT_OFFLINE = ("sd3", "sd35", "flux", "chroma")  # families whose text encoders need T5
METADATA_KEY = "diffusers_config"
TOKENIZER_FILES = ("vocab.json", "merges.txt")


def cache_root() -> Path:
    if os.environ.get("STUDIO_CACHE"):
        return Path(os.environ["STUDIO_CACHE"]).expanduser() / "single-file-configs"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "studio" / "single-file-configs"


class _Shape:
    """A tensor as diffusers' family detection reads it: its shape only."""

    def __init__(self, shape):
        self.shape = tuple(shape)


def read_header(path: str | os.PathLike) -> dict:
    """The JSON header of a safetensors file (tensor names, shapes, offsets; `__metadata__`)."""
    with open(path, "rb") as file:
        size = struct.unpack("<Q", file.read(8))[0]
        if size > 100 * 2**20:
            raise ValueError(f"{Path(path).name!r} is not a safetensors file (its header claims {size} bytes)")
        return json.loads(file.read(size))


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The `__metadata__` of a safetensors file's header (no tensor is read)."""
    return dict(read_header(path).get("__metadata__") or {})


def family_of(path: str | os.PathLike) -> str:
    """diffusers' name of the checkpoint's family ("v1", "xl_base", ...), read from the header alone."""
    from diffusers.loaders.single_file_utils import infer_diffusers_model_type

    header = read_header(path)
    return infer_diffusers_model_type({k: _Shape(v["shape"]) for k, v in header.items() if k != "__metadata__"})


def sd2_kind(path: str | os.PathLike) -> str | None:
    """"v2" (768, v-prediction) or "v2_base" (512, epsilon) as an SD 2.x file or its A1111 YAML says; None if neither does."""
    metadata = read_metadata(path)
    told = SD2_BY_PREDICTION.get(str(metadata.get("modelspec.prediction_type", "")).strip().lower())
    told = told or SD2_BY_ARCHITECTURE.get(str(metadata.get("modelspec.architecture", "")).strip().lower().split("/")[0])
    if told:
        return told
    yaml = Path(path).with_suffix(".yaml")
    if yaml.is_file():  # A1111's v2-inference-v.yaml sets parameterization "v"; the base's leaves it out (epsilon)
        text = yaml.read_text(encoding="utf-8", errors="replace")
        return "v2" if re.search(r"""^\s*parameterization:\s*["']?v["']?\s*(#.*)?$""", text, re.M) else "v2_base"
    return None


def predicts_v(unet) -> bool:
    """Whether an SD 2.x UNet predicts v (the 768 model) rather than the noise (the base): A1111's test.

    At the last timestep the input is all noise, so a noise-predicting UNet gives back about its input;
    a v-predicting one gives about minus the image it sees, far below the input on average.
    """
    import torch

    weight = next(unet.parameters())
    sample = torch.full((1, unet.config.in_channels, 8, 8), 0.5, dtype=weight.dtype, device=weight.device)
    context = torch.full((1, 2, unet.config.cross_attention_dim), 0.5, dtype=weight.dtype, device=weight.device)
    with torch.no_grad():
        out = unet(sample, torch.tensor([999], device=weight.device), encoder_hidden_states=context).sample
    return (out.float() - sample.float()).mean().item() < -1


def config_folder(checkpoint_path: str | os.PathLike, family: str | None = None) -> Path:
    """A local diffusers config folder for the checkpoint: from its metadata, else `family`'s (default: the file's).

    An SD 2.x file that does not say its kind gets the 768 v-prediction configs; `load` then asks its UNet.
    """
    carried = carried_configs(checkpoint_path)
    if carried is not None:
        return carried
    if family is None:
        family = family_of(checkpoint_path)
        family = (sd2_kind(checkpoint_path) or family) if family == "v2" else family
    name = Path(checkpoint_path).name
    if family.startswith(NOT_OFFLINE):
        raise ValueError(
            f"{name!r} is a {family} single file; it needs a T5 tokenizer (a sentencepiece model) that ships with no "
            "package here, so it cannot load offline. "
            "Use the model's diffusers folder (model_index.json) instead"
        )
    if family not in FAMILIES:
        raise ValueError(f"{name!r} is a {family!r} checkpoint; single files load for {', '.join(FAMILIES.values())}")
    base, changes = VARIANTS.get(family, (family, {}))
    source = CONFIGS / base
    files = {str(p.relative_to(source)): p.read_text(encoding="utf-8") for p in sorted(source.rglob("*.json"))}
    for relative, values in changes.items():
        files[relative] = json.dumps({**json.loads(files[relative]), **values}, indent=1)
    for tokenizer in sorted({Path(f).parts[0] for f in files if f.startswith("tokenizer")}):
        vocab, merges = clip_vocabulary()
        files[f"{tokenizer}/vocab.json"], files[f"{tokenizer}/merges.txt"] = vocab, merges
    return _materialize(f"{family}-{hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:12]}", files)


def carried_configs(checkpoint_path: str | os.PathLike) -> Path | None:
    """The diffusers configs the file carries in its metadata (`diffusers_config`), as a local folder; None if none."""
    carried = read_metadata(checkpoint_path).get(METADATA_KEY)
    if not carried:
        return None
    return _materialize(f"file-{hashlib.sha256(carried.encode()).hexdigest()[:16]}", json.loads(carried))


def _materialize(name: str, files: dict[str, str]) -> Path:
    """`files` written under the cache as a folder, once; renamed into place so no reader sees half of it."""
    folder = cache_root() / name
    if folder.is_dir():  # only ever renamed into place whole: a pipeline's folder or one model's config.json
        return folder
    cache_root().mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache_root()))
    try:
        for relative, text in files.items():
            target = staging / relative
            if ".." in Path(relative).parts or Path(relative).is_absolute():
                raise ValueError(f"a checkpoint's config names an unsafe file {relative!r}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        try:
            staging.rename(folder)
        except OSError:  # another process made it meanwhile
            pass
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's map of bytes to printable characters (the BPE's alphabet), in CLIP's order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    codes = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, codes), strict=True))


def clip_vocabulary() -> tuple[str, str]:
    """CLIP's `vocab.json` and `merges.txt` (49408 tokens), built from the BPE file `openai-clip` ships."""
    spec = importlib.util.find_spec("clip")  # not imported: its __init__ needs torchvision
    bpe = Path(next(iter(spec.submodule_search_locations))) / "bpe_simple_vocab_16e6.txt.gz" if spec else None
    if bpe is None or not bpe.is_file():
        raise ValueError("single-file checkpoints need CLIP's tokenizer files: pip install openai-clip (it ships them)")
    lines = gzip.decompress(bpe.read_bytes()).decode("utf-8").split("\n")
    merges = lines[1 : 49152 - 256 - 2 + 1]
    alphabet = list(_bytes_to_unicode().values())
    tokens = [*alphabet, *(a + "</w>" for a in alphabet), *("".join(m.split()) for m in merges), "<|startoftext|>", "<|endoftext|>"]
    vocab = json.dumps({token: index for index, token in enumerate(tokens)}, ensure_ascii=False)
    return vocab, "#version: 0.2\n" + "\n".join(merges) + "\n"


def load(path: str, dtype, pipeline_class: str | None = None):
    """The diffusers pipeline of a single-file checkpoint, with no network."""
    import diffusers

    if Path(path).suffix != ".safetensors":  # diffusers would torch.load() any other file: a pickle
        raise ValueError(f"{Path(path).name!r} is not a .safetensors file; the studio loads safetensors only")
    family, components = None, {}
    if METADATA_KEY not in read_metadata(path) and family_of(path) == "v2" and sd2_kind(path) is None:
        family, components["unet"] = _sd2_unet(path, dtype)
    folder = config_folder(path, family)
    index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    cls = getattr(diffusers, pipeline_class or index["_class_name"])
    return cls.from_single_file(path, config=str(folder), local_files_only=True, dtype=dtype, **components)


def _sd2_unet(path: str, dtype):
    """The kind of an SD 2.x file that does not say it, asked of its UNet, and that UNet (loaded once, for the pipeline)."""
    from diffusers import UNet2DConditionModel

    unet = UNet2DConditionModel.from_single_file(path, config=str(config_folder(path, "v2")), subfolder="unet",
                                                 local_files_only=True, dtype=dtype)
    family = "v2" if predicts_v(unet) else "v2_base"
    # Only the native size differs between the two UNets' configs: the weights are the same tensors.
    unet.register_to_config(sample_size=UNet2DConditionModel.load_config(config_folder(path, family), subfolder="unet")["sample_size"])
    return family, unet
