"""The model cache: each model loads once, on first use, and is unloaded past a budget.

One `ModelManager` belongs to one `Studio`; nothing here is global. Entries are
keyed by (kind, model, device, dtype). Two threads asking for the same model at
once load it once. A derived entry (img2img built from txt2img with `from_pipe`)
shares its parent's weights and run lock, and goes when its parent goes.

Memory is counted as the bytes of the distinct tensors the cached models hold
(shared weights count once), at load and again after each call: a call may add
weights that stay, as a LoRA does (its adapter is kept, disabled, for the next
request that names it; see `pipelines.lora`). Past the budget, the least
recently used entries that no caller is using are unloaded.
"""

from __future__ import annotations

import gc
import itertools
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_budget(text: str | int | None) -> int | None:
    """`"8GB"`, `"512MiB"` or a byte count -> bytes; None, "" or 0 -> no budget."""
    if isinstance(text, bool) or (isinstance(text, int) and text < 0):
        raise ValueError(f"memory budget must look like '8GB', '512MiB' or a byte count, got {text!r}")
    if text in (None, "", 0, "0"):
        return None
    if isinstance(text, int):
        return text
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(text))
    if not match or match.group(2).lower() not in UNITS:
        raise ValueError(f"memory budget must look like '8GB', '512MiB' or a byte count, got {text!r}")
    return int(float(match.group(1)) * UNITS[match.group(2).lower()])


class Key(NamedTuple):
    kind: str
    model: str
    device: str
    dtype: str

    def label(self) -> str:
        return f"{self.kind}: {self.model} ({self.device}, {self.dtype})"


@dataclass
class _Entry:
    value: Any
    run_lock: threading.RLock
    nbytes: int
    parent: Key | None
    last_used: int = 0
    users: int = 0
    children: set = field(default_factory=set)


def tensor_storages(value: Any) -> dict[int, int]:
    """data pointer -> bytes of every distinct tensor storage in `value.modules()`.

    int8 linear layers (pipelines.quantize) keep their weights packed, outside the
    parameters and buffers: each counts its int8 weight and float32 bias from its
    shape, keyed by the layer (unpacking them to measure would copy every weight,
    on every call: the cache measures after each use).
    """
    storages: dict[int, int] = {}
    for module in getattr(value, "modules", lambda: [])():
        for tensor in itertools.chain(module.parameters(), module.buffers()):
            storage = tensor.untyped_storage()
            storages[storage.data_ptr()] = storage.nbytes()
        for layer in module.modules():
            if hasattr(layer, "_packed_params") and hasattr(layer, "in_features"):  # torch.ao's int8 Linear
                storages[-id(layer)] = layer.in_features * layer.out_features + 4 * layer.out_features
    return storages


class ModelManager:
    def __init__(self, budget: int | None = None):
        self.budget = budget
        self.loads: Counter = Counter()  # Key -> times loaded, for tests and benchmarks
        self._entries: dict[Key, _Entry] = {}
        self._loading: dict[Key, threading.Lock] = {}
        self._lock = threading.Lock()
        self._clock = itertools.count(1)

    @contextmanager
    def use(self, key: Key, loader: Callable[..., Any], parent: tuple[Key, Callable[[], Any]] | None = None) -> Iterator[Any]:
        """The model for `key`, loaded if needed, held exclusively while the block runs.

        Wrapped pipelines keep per-call state (diffusers' scheduler, for one), so one
        model serves one call at a time; different models run side by side.
        """
        entry = self._pin(key, loader, parent)
        try:
            with entry.run_lock:
                try:
                    yield entry.value
                finally:  # still held: nothing else changes the model while it is measured, and it is not evicted
                    self._recount(entry)
        finally:
            with self._lock:
                entry.users -= 1
                if entry.parent in self._entries:
                    self._entries[entry.parent].users -= 1

    def get(self, key: Key, loader: Callable[..., Any], parent: tuple[Key, Callable[[], Any]] | None = None) -> Any:
        """The model for `key`, loaded if needed (not held: for read-only use)."""
        with self.use(key, loader, parent) as value:
            return value

    def _pin(self, key, loader, parent) -> _Entry:
        entry = self._lookup(key, pin=True)
        if entry is not None:
            return entry
        with self._loading.setdefault(key, threading.Lock()):
            entry = self._lookup(key, pin=True)
            if entry is not None:
                return entry
            if parent is not None:
                parent_entry = self._pin(parent[0], parent[1], None)
                try:
                    value, run_lock = loader(parent_entry.value), parent_entry.run_lock
                except BaseException:
                    self._unpin(parent_entry)
                    raise
            else:
                value, run_lock = loader(), threading.RLock()
            parent_key = parent[0] if parent is not None else None
            entry = _Entry(value, run_lock, sum(tensor_storages(value).values()), parent_key, users=1)
            with self._lock:
                entry.last_used = next(self._clock)
                self._entries[key] = entry
                if parent_key is not None:
                    self._entries[parent_key].children.add(key)
                self.loads[key] += 1
        self._enforce_budget()
        return entry

    def _recount(self, entry: _Entry) -> None:
        """The entry's bytes measured again after a call; grown (a LoRA loaded), the budget is enforced."""
        nbytes = sum(tensor_storages(entry.value).values())
        with self._lock:
            grew, entry.nbytes = nbytes > entry.nbytes, nbytes
        if grew:
            self._enforce_budget()

    def _lookup(self, key: Key, pin: bool) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                entry.last_used = next(self._clock)
                if pin:
                    entry.users += 1
                    if entry.parent in self._entries:
                        self._entries[entry.parent].users += 1
            return entry

    def _unpin(self, entry: _Entry) -> None:
        with self._lock:
            entry.users -= 1

    def resident_bytes(self) -> int:
        """Bytes of the distinct tensors held by all cached models."""
        storages: dict[int, int] = {}
        with self._lock:
            values = [entry.value for entry in self._entries.values()]
        for value in values:
            storages.update(tensor_storages(value))
        return sum(storages.values())

    def loaded(self) -> list[tuple[Key, int]]:
        """(key, bytes) of every cached model, most recently used first."""
        with self._lock:
            entries = sorted(self._entries.items(), key=lambda item: -item[1].last_used)
            return [(key, entry.nbytes) for key, entry in entries]

    def unload(self, key: Key | None = None) -> list[Key]:
        """Drop `key` (and what derives from it), or every model no caller is using."""
        with self._lock:
            keys = [key] if key is not None else list(self._entries)
            dropped = [k for k in keys if k in self._entries and self._entries[k].users == 0]
            for k in dropped:
                self._drop(k)
        self._release_memory()
        return dropped

    def _drop(self, key: Key) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        for child in entry.children:
            self._drop(child)
        if entry.parent in self._entries:
            self._entries[entry.parent].children.discard(key)

    def _enforce_budget(self) -> None:
        if self.budget is None:
            return
        evicted = False
        while self.resident_bytes() > self.budget:
            with self._lock:
                idle = [(e.last_used, k) for k, e in self._entries.items() if e.users == 0]
                if not idle:
                    break  # everything left is in use; the budget is exceeded until they finish
                self._drop(min(idle)[1])
            evicted = True
        if evicted:
            self._release_memory()

    @staticmethod
    def _release_memory() -> None:
        gc.collect()
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
