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
from studio import outputs, tiny
from studio.library import presets
from studio.library.cache import Key, ModelManager, parse_budget


class StudioBase:
    def __init__(
        self,
        preset: str | os.PathLike | None = None,
        *,
        outputs: str | os.PathLike | None = None,
        memory_budget: str | int | None = None,
        device: str | None = None,
        dtype: str | None = None,
    ):
        """`preset`: "tiny", "cpu", "gpu", "zerogpu" or a TOML path (default: $STUDIO_PRESET, else by hardware).
        `outputs`: folder for saved files (default: $STUDIO_OUTPUTS, else ./outputs).
        `memory_budget`: e.g. "8GB" (default: $STUDIO_MEMORY_BUDGET, else the preset's, else none).
        `device`, `dtype`: override the automatic choice ("cuda", "cpu", "mps"; "float16", ...).
        """
        if outputs is not None and not isinstance(outputs, (str, os.PathLike)):
            raise ValueError(f"outputs must be a folder path, got {type(outputs).__name__}")
        self.preset = presets.resolve(preset)
        self.outputs = Path(outputs or os.environ.get("STUDIO_OUTPUTS") or "outputs")
        budget = memory_budget if memory_budget is not None else os.environ.get("STUDIO_MEMORY_BUDGET")
        self.models = ModelManager(parse_budget(budget or self.preset.runtime("memory_budget")))
        self._device_choice = check_device(device or self.preset.runtime("device", "auto"))
        self._resolved: dict[str, str] = {}
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

    def dtype(self, *, language_model: bool = False):
        from pipelines.devices import pick_dtype

        return pick_dtype(self.device, self._dtype_choice, language_model=language_model)

    # -- models -----------------------------------------------------------------

    def model_ref(self, section: str, model: str | None = None) -> str:
        """The model serving `section`: `model` or the preset's, tiny references resolved."""
        reference = model or self.preset.model(section)
        if reference not in self._resolved:  # resolving a tiny model hashes its builder: once is enough
            self._resolved[reference] = tiny.resolve(reference)
        return self._resolved[reference]

    def _key(self, kind: str, model: str, language_model: bool = False) -> Key:
        return Key(kind, model, self.device, str(self.dtype(language_model=language_model)).removeprefix("torch."))

    def _use(self, kind: str, model: str, from_pretrained: Callable[..., Any], *, language_model: bool = False):
        """The cached wrapper `from_pretrained(model, device=, dtype=)`, held for one call."""
        key = self._key(kind, model, language_model)
        return self.models.use(key, lambda: from_pretrained(model, device=key.device, dtype=self.dtype(language_model=language_model)))

    def _settings(self, section: str, call: Callable, given: dict[str, Any], siblings: tuple[Callable, ...] = ()) -> dict[str, Any]:
        """The keywords for `call`: the preset's defaults for `section`, then what the caller gave.

        None means "not given" so the preset, then the wrapper's signature, decides.
        `siblings` are the other calls sharing the section's defaults table.
        """
        accepted = set(inspect.signature(call).parameters) - {"self"}
        known = set(accepted).union(*(set(inspect.signature(s).parameters) for s in siblings)) - {"self"}
        self.preset.check_defaults(section, known)
        settings = {k: v for k, v in self.preset.defaults(section).items() if k in accepted}
        settings.update({k: v for k, v in given.items() if v is not None})
        return settings

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
        return result

    def loaded_models(self) -> list[dict[str, Any]]:
        """What is loaded now, most recently used first."""
        return [{"kind": k.kind, "model": k.model, "device": k.device, "dtype": k.dtype, "bytes": n} for k, n in self.models.loaded()]

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
