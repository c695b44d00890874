"""What every operation of the `Studio` shares: preset, device, model cache, outputs.

The task modules (`studio.tasks.image`, `.text`, `.audio`) add the operations;
`core.Studio` puts them together.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipelines.devices import check_device, check_dtype
from pipelines.errors import OutOfMemory
from studio import operations, outputs
from studio.library import presets
from studio.library.cache import Key, ModelManager, parse_budget
from studio.library.catalog import Choice, ModelLibrary

# cache kind -> model kind, which picks the number format (pipelines.devices.KINDS);
# the kinds not named (text_to_image, image_to_image, inpaint, ...) are diffusion pipelines.
MODEL_KINDS = {
    "text": "language_model",
    "text_to_speech": "text_to_speech",
    "text_to_speech_clone": "text_to_speech",
    "speech_to_text": "speech_to_text",
    "text_to_music": "music",
    "text_to_music_melody": "music",
    "upscale": "upscale",
}


class StudioBase:
    def __init__(
        self,
        preset: str | os.PathLike | None = None,
        *,
        outputs: str | os.PathLike | None = None,
        memory_budget: str | int | None = None,
        device: str | None = None,
        dtype: str | None = None,
        models_dir: str | os.PathLike | None = None,
    ):
        """`preset`: "tiny", "cpu", "gpu", "zerogpu" or a TOML path (default: $STUDIO_PRESET, else by hardware).
        `outputs`: folder for saved files (default: $STUDIO_OUTPUTS, else ./outputs).
        `memory_budget`: e.g. "8GB" (default: $STUDIO_MEMORY_BUDGET, else the preset's, else none).
        `device`, `dtype`: override the automatic choice ("cuda", "cpu", "mps"; "float16", ...).
        `models_dir`: the models folder in AUTOMATIC1111's layout (default: $STUDIO_MODELS, else ./models).
        """
        if outputs is not None and not isinstance(outputs, (str, os.PathLike)):
            raise ValueError(f"outputs must be a folder path, got {type(outputs).__name__}")
        self.preset = presets.resolve(preset)
        self.outputs = Path(outputs or os.environ.get("STUDIO_OUTPUTS") or "outputs")
        budget = memory_budget if memory_budget is not None else os.environ.get("STUDIO_MEMORY_BUDGET")
        self.models = ModelManager(parse_budget(budget or self.preset.runtime("memory_budget")))
        self._device_choice = check_device(device or self.preset.runtime("device", "auto"))
        self.library = ModelLibrary(self.preset, models_dir)
        self._choices: dict[str, Choice] = {}  # what was loaded -> how the user named it
        self._dtype_choice = check_dtype(dtype or self.preset.runtime("dtype", "auto"))

    def __repr__(self) -> str:
        return f"Studio(preset={self.preset.name!r}, outputs={str(self.outputs)!r})"

    @property
    def device_choice(self) -> str:
        """The device asked for ("auto", "cuda", ...), known without importing torch."""
        return self._device_choice

    @functools.cached_property
    def device(self) -> str:
        from pipelines.devices import pick_device

        return pick_device(self._device_choice)

    def dtype(self, kind: str = "diffusion") -> str:
        """The number format a model of `kind` (pipelines.devices.KINDS) runs in here: "float32", "bfloat16", "int8", ..."""
        from pipelines.devices import precision

        return precision(self.device, self._dtype_choice, kind=kind)

    # -- models -----------------------------------------------------------------

    def model_ref(self, section: str, model: str | None = None) -> str:
        """What loads for `section`: `model` (a hub id or a library name) or the preset's."""
        choice = self.library.resolve(section, model if model not in (None, "") else self.preset.model(section))
        self._choices[choice.load] = choice
        return choice.load

    def model_choice(self, section: str, model: str | None = None) -> Choice:
        """The resolved `Choice` for `section` (see `model_ref`)."""
        return self._choices[self.model_ref(section, model)]

    def list_models(self, task: str | None = None) -> list[dict[str, Any]]:
        """What can be chosen for `task` ("image", "lora", "text", ...; every task when None).

        The preset's model and alternatives, the Hugging Face cache's models of that
        kind, and the models folder's; `downloaded` says which are on this machine.
        """
        return [entry.as_dict() for entry in self.library.list(task)]

    def _key(self, kind: str, model: str) -> Key:
        return Key(kind, model, self.device, self.dtype(MODEL_KINDS.get(kind, "diffusion")))

    def _use(self, kind: str, model: str, from_pretrained: Callable[..., Any]):
        """The cached wrapper `from_pretrained(model, device=, dtype=)`, held for one call."""
        key = self._key(kind, model)
        return self.models.use(key, lambda: self._load(model, lambda: from_pretrained(
            model, device=key.device, dtype=key.dtype)))

    def _load(self, model: str, loader: Callable[[], Any]):
        """`loader()`; a failure names the model as the user did, not by its path on this server."""
        from pipelines.errors import ModelLoadError

        choice = self._choices.get(model)
        try:
            return loader()
        except ModelLoadError as error:
            if choice is None or choice.name == choice.load:
                raise
            raise ModelLoadError(str(error).replace(choice.load, choice.name)) from error.__cause__

    def settings(self, operation: str, model: str | None = None):
        """The settings `operation` takes (`pipelines.settings.Settings`), each default the one it runs with here:
        the preset's `[section.defaults]`, then `model`'s own (`[section.model_defaults."name"]`), then the declaration's.

        What the UI, the CLI and the API docs show: ranges, choices, help, defaults.
        """
        op = operations.get(operation)
        # A section without one model of its own (speech: a voice per language) has only its section's defaults.
        named = model not in (None, "") or self.preset.sections.get(op.section, {}).get("model")
        own = self.model_defaults(op.section, self.model_ref(op.section, model)) if named else {}
        return op.settings().but_defaults({**self.preset.defaults(op.section), **own})

    def _settings(self, operation: str, given: dict[str, Any], *, model: str | None = None,
                  call: Callable | None = None) -> dict[str, Any]:
        """The keywords for `operation`'s wrapper call: the preset's defaults, then the running model's, then `given`'s.

        `given`: the caller's values by name (a facade method's `locals()`); None means "not given",
        so the preset, then the declaration, decides. Only the call's keyword-only parameters are taken.
        `model`: what runs, as `model_ref` returned it. `call`: another wrapper method sharing the section.
        """
        op = operations.get(operation)
        call = call or op.wrapper_call()
        accepted = {name for name, parameter in inspect.signature(call).parameters.items()
                    if parameter.kind is parameter.KEYWORD_ONLY}
        self.preset.check_defaults(op.section, operations.keywords(op.section))
        settings = {k: v for k, v in self.preset.defaults(op.section).items() if k in accepted}
        settings.update({k: v for k, v in self.model_defaults(op.section, model).items() if k in accepted})
        settings.update({k: v for k, v in given.items() if v is not None and k in accepted})
        return settings

    def model_defaults(self, section: str, model: str | None) -> dict[str, Any]:
        """The preset's defaults for the model `model_ref` resolved to `model` ({} when it has none).

        A table applies when its name and the model are the same (`ModelLibrary.names_model`).
        """
        from studio.library.presets import SCHEMA

        if section not in SCHEMA:
            raise ValueError(f"section must be one of {', '.join(SCHEMA)}, got {section!r}")
        tables = self.preset.model_defaults(section)
        choice = self._choices.get(model) if model else None
        if not tables or choice is None:
            return {}
        return next((table for name, table in tables.items() if self.library.names_model(section, name, choice)), {})

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        """Out of memory becomes a message with what to change; the cache is emptied."""
        try:
            yield
        except Exception as error:
            if type(error).__name__ != "OutOfMemoryError" and "out of memory" not in str(error).lower()[:200]:
                raise
            self.models.unload()
            raise OutOfMemory(
                f"out of memory while {doing}: try a smaller size, batch, duration or token count, "
                "or set STUDIO_MEMORY_BUDGET; the loaded models were unloaded to free memory"
            ) from error

    def _finish(self, result):
        result.params.update(preset=self.preset.name, device=self.device)
        self._name_model(result.params)
        return result

    def _name_model(self, params: dict[str, Any]) -> None:
        """The recipe names its model as the user did, never by a server path."""
        choice = self._choices.get(str(params.get("model")))
        if choice is None:
            return
        params["model"] = choice.name
        if choice.revision:
            params["model_revision"] = choice.revision
        if choice.single_file:
            params["model_hash"] = self.library.short_hash(choice.load)

    def loaded_models(self) -> list[dict[str, Any]]:
        """What is loaded now, most recently used first."""
        return [{"kind": k.kind, "model": k.model, "name": self._choices[k.model].name if k.model in self._choices else k.model,
                 "device": k.device, "dtype": k.dtype, "bytes": n} for k, n in self.models.loaded()]

    def unload(self) -> int:
        """Unload every model not in use; returns how many were unloaded."""
        return len(self.models.unload())

    # -- outputs ----------------------------------------------------------------

    def save(self, result, *, format: str | None = None) -> list[Path]:
        """Write `result` under the outputs folder, its recipe embedded; returns the paths.

        `format`: for audio, wav (default), flac or mp3; other results have one format.
        """
        return outputs.save(result, self.outputs, **({} if format is None else {"format": format}))

    @staticmethod
    def read_recipe(path: str | os.PathLike) -> dict[str, Any]:
        """The recipe of a file written by `save` (PNG, WAV, FLAC, MP3, JSON) or of an A1111 PNG."""
        return outputs.read_recipe(path)
