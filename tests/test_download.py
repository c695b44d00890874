"""Downloading a hub model: progress in bytes, cancel, and a cut download that leaves nothing behind.

The hub is simulated by a stand-in with huggingface_hub's two calls, writing the
cache layout the real ones write (blobs, snapshot symlinks, refs/main); no network.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from studio.library import catalog
from studio.library.download import Cancelled, DownloadError, download

FILES = {"model_index.json": b'{"_class_name": "StableDiffusionPipeline"}', "unet/config.json": b"{}",
         "unet/diffusion_pytorch_model.safetensors": b"w" * 5000, "vae/diffusion_pytorch_model.safetensors": b"v" * 3000}
COMMIT = "c" * 40


class FakeHub:
    def __init__(self, fail_at: str | None = None, chunk: int = 1000, on_chunk=None):
        self.fail_at, self.chunk, self.on_chunk = fail_at, chunk, on_chunk

    def snapshot_download(self, repo_id, allow_patterns=None, dry_run=False):
        from huggingface_hub.file_download import DryRunFileInfo

        assert dry_run
        return [DryRunFileInfo(commit_hash=COMMIT, file_size=len(data), filename=name, local_path="", is_cached=False,
                               will_download=True) for name, data in FILES.items()]

    def hf_hub_download(self, repo_id, filename, cache_dir, tqdm_class):
        data = FILES[filename]
        repo = Path(cache_dir) / f"models--{repo_id.replace('/', '--')}"
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / "main").write_text(COMMIT)  # the real hub writes the ref before the files
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        bar = tqdm_class(total=len(data))
        with open(blob, "wb") as file:
            for start in range(0, len(data), self.chunk):
                if filename == self.fail_at and start >= len(data) // 2:
                    raise ConnectionError("connection reset by peer")
                file.write(data[start:start + self.chunk])
                bar.update(len(data[start:start + self.chunk]))
                if self.on_chunk:
                    self.on_chunk()
        link = repo / "snapshots" / COMMIT / filename
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
        return str(link)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    return tmp_path / "hub"


def test_download_reports_bytes_and_lands_whole(cache):
    seen = []
    folder = download("org/sd", progress=lambda done, total: seen.append((done, total)), hub=FakeHub())
    total = sum(len(d) for d in FILES.values())
    assert seen[0] == (0, total) and seen[-1] == (total, total)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:], strict=False))
    assert (folder / "unet" / "diffusion_pytorch_model.safetensors").read_bytes() == FILES["unet/diffusion_pytorch_model.safetensors"]
    assert catalog.hub_snapshot("org/sd") == folder and catalog.what_is(folder) == "image"
    assert not any((cache / ".studio-downloads").iterdir())


def test_a_download_cut_half_way_leaves_nothing_that_loads(cache):
    with pytest.raises(DownloadError, match="could not download 'org/sd': connection reset by peer. Nothing was kept"):
        download("org/sd", hub=FakeHub(fail_at="vae/diffusion_pytorch_model.safetensors"))
    assert catalog.hub_revision("org/sd") is None and catalog.hub_snapshot("org/sd") is None
    assert not (cache / "models--org--sd").exists()
    assert not any((cache / ".studio-downloads").iterdir())
    download("org/sd", hub=FakeHub())  # trying again works
    assert catalog.hub_snapshot("org/sd") is not None


def test_cancel_stops_within_the_file_and_keeps_nothing(cache):
    stop = threading.Event()
    with pytest.raises(Cancelled, match="cancelled; nothing was kept"):
        download("org/sd", stop=stop, hub=FakeHub(on_chunk=stop.set))
    assert not (cache / "models--org--sd").exists()


def test_only_hub_ids_download(cache):
    with pytest.raises(ValueError, match="hub id like 'org/name'"):
        download("/etc/passwd", hub=FakeHub())
