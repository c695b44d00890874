"""Faults: models that do not load, running out of memory, a full outputs disk, clients that leave, stop.

Each fault must give the person a clear error (or nothing, for a client that
left), hold nothing afterwards (no model lock, no thread, no partial file) and
leave every other task working.
"""

import errno
import os
import shutil
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import numpy as np
import pytest
import torch
from gradio_client import Client
from gradio_client.exceptions import AppError
from PIL import Image

from pipelines.errors import ModelLoadError, OutOfMemory
from pipelines.image import _Diffusion
from pipelines.music import TextToMusic
from pipelines.speech import TextToSpeech
from pipelines.text import LanguageModel
from pipelines.transcribe import SpeechToText
from pipelines.upscale import Upscaler
from studio import Studio, tiny
from studio.outputs import OutputError
from studio.outputs import files as outputs
from tests.support.server import free_port

HUB_ID = "HuggingFaceTB/SmolLM2-360M-Instruct"  # not in the cache, and the tests run offline
NOISE = (16_000, (0.1 * np.random.default_rng(0).standard_normal(16_000)).astype(np.float32))


def studio_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("studio-")]


def eventually(check, seconds: float = 30.0):
    """Poll `check()` until it is true; the last value otherwise (for the assertion's message)."""
    deadline = time.monotonic() + seconds
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


# -- models that fail to load ------------------------------------------------------------------

def damaged_copy(folder: Path, how: str) -> Path:
    """A copy of the tiny Stable Diffusion whose UNet weights are garbage, cut in half or empty."""
    copy = folder / f"sd-{how}"
    shutil.copytree(tiny.ensure("sd"), copy)
    weights = copy / "unet" / "diffusion_pytorch_model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes({"garbage": os.urandom(len(data)), "cut": data[: len(data) // 2], "empty": b""}[how])
    return copy


@pytest.mark.parametrize("how", ["garbage", "cut", "empty"])
def test_a_damaged_model_is_a_clear_error_and_the_other_tasks_keep_working(tmp_path, how):
    broken = damaged_copy(tmp_path, how)
    preset = tmp_path / "broken.toml"
    preset.write_text(
        f'[image]\nmodel = "{broken}"\n'
        f'[text]\nmodel = "{HUB_ID}"\n'
        f'[transcribe]\nmodel = "{tmp_path / "nowhere"}"\n'
        '[speech.voices]\nen = "tiny:tts"\n'
        '[music]\nmodel = "tiny:musicgen"\n'
        '[upscale]\nmodel = "tiny:upscaler"\n'
    )
    studio = Studio(preset=str(preset), outputs=tmp_path / "outputs")
    for _ in range(2):  # a failed load leaves nothing half-made: the second try fails the same way
        with pytest.raises(ModelLoadError, match=f"could not load model '{broken.name}'.*damaged or incomplete"):
            studio.text_to_image("a fox", steps=1)
        with pytest.raises(ModelLoadError, match=f"'{HUB_ID}'.*tiny preset"):
            studio.chat("Bonjour")
        with pytest.raises(ModelLoadError, match="nowhere.*does not exist"):
            studio.speech_to_text(NOISE)
        assert studio.text_to_speech("Bonjour", seed=1).audio.size
        assert studio.text_to_music("calm piano", duration=0.2, seed=1).audio.size
        assert studio.upscale(Image.new("RGB", (16, 16))).images[0].size == (32, 32)
    assert sorted(m["kind"] for m in studio.loaded_models()) == ["text_to_music", "text_to_speech", "upscale"]
    assert not studio_threads()


def test_a_load_error_reaches_the_web_page_as_one_message(tmp_path):
    import gradio as gr

    from studio.ui.errors import guard

    preset = tmp_path / "preset.toml"
    preset.write_text(f'[text]\nmodel = "{HUB_ID}"\n')
    studio = Studio(preset=str(preset), outputs=tmp_path / "outputs")
    with pytest.raises(gr.Error) as shown:
        guard(lambda: studio.chat("Bonjour"))()
    assert HUB_ID in shown.value.message and "To fix" in shown.value.message and "Traceback" not in shown.value.message


# -- out of memory during a generation ------------------------------------------------------------

def out_of_memory(*args, **kwargs):
    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")


# operation -> (the wrapper method that runs the model, the call)
GENERATIONS = {
    "text_to_image": (_Diffusion, "_generate", lambda s: s.text_to_image("a fox", steps=2, seed=1)),
    "image_to_image": (_Diffusion, "_generate", lambda s: s.image_to_image(Image.new("RGB", (64, 64)), "a fox", steps=2)),
    "chat": (LanguageModel, "_generate", lambda s: s.chat("Bonjour", seed=1)),
    "stream_chat": (LanguageModel, "_generate", lambda s: "".join(s.stream_chat("Bonjour", seed=1))),
    "text_to_speech": (TextToSpeech, "_synthesise", lambda s: s.text_to_speech("Bonjour", seed=1)),
    "speech_to_text": (SpeechToText, "generate", lambda s: s.speech_to_text(NOISE)),
    "text_to_music": (TextToMusic, "_generate", lambda s: s.text_to_music("calm piano", duration=0.2, seed=1)),
    "upscale": (Upscaler, "_once", lambda s: s.upscale(Image.new("RGB", (16, 16)))),
}


@pytest.mark.parametrize("operation", GENERATIONS)
def test_out_of_memory_suggests_smaller_settings_frees_the_cache_and_the_next_request_works(
    fresh_studio, monkeypatch, operation
):
    owner, method, call = GENERATIONS[operation]
    fresh_studio.text_to_speech("Bonjour", seed=1)  # another model in the cache: it goes too
    expected = call(fresh_studio)
    monkeypatch.setattr(owner, method, out_of_memory)
    with pytest.raises(OutOfMemory, match="out of memory while .*: try a smaller size, batch, duration or token count"):
        call(fresh_studio)
    assert fresh_studio.loaded_models() == []
    assert not studio_threads()
    monkeypatch.undo()
    again = call(fresh_studio)
    if isinstance(expected, str) or hasattr(expected, "audio"):
        assert np.array_equal(getattr(again, "audio", again), getattr(expected, "audio", expected))


@pytest.mark.parametrize("error", [RuntimeError("MPS backend out of memory (MPS allocated: 8 GB)"),
                                   torch.OutOfMemoryError("CUDA out of memory")])
def test_out_of_memory_in_every_form_torch_raises_it_is_recognised(fresh_studio, monkeypatch, error):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(_Diffusion, "_generate", fail)
    with pytest.raises(OutOfMemory, match="STUDIO_MEMORY_BUDGET"):
        fresh_studio.text_to_image("a fox", steps=2)
    assert fresh_studio.loaded_models() == []


def test_other_runtime_errors_are_not_mistaken_for_out_of_memory(fresh_studio, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("expected scalar type Float but found Half")

    monkeypatch.setattr(_Diffusion, "_generate", fail)
    with pytest.raises(RuntimeError, match="scalar type"):
        fresh_studio.text_to_image("a fox", steps=2)
    assert fresh_studio.loaded_models()  # nothing to free for that


# -- a full or unwritable outputs folder --------------------------------------------------------

class FullDisk:
    """Files on a disk with `room` bytes left in all: writes past it fail as a full disk's do."""

    def __init__(self, room: int):
        self.room = room

    def open(self, fd: int, mode: str, fdopen=os.fdopen):
        return _FileOn(self, fdopen(fd, mode))


class _FileOn:
    def __init__(self, disk: FullDisk, file):
        self.disk, self.file = disk, file

    def write(self, data) -> int:
        if len(data) > self.disk.room:
            self.file.write(bytes(data[: self.disk.room]))  # what fitted is written, as on a real disk
            self.disk.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.disk.room -= len(data)
        return self.file.write(data)

    def __getattr__(self, name):
        return getattr(self.file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()


def results(studio):
    return {
        "image": lambda: studio.text_to_image("a fox", steps=2, seed=1),
        "speech-wav": lambda: studio.text_to_speech("Bonjour", seed=1),
        "chat-json-and-md": lambda: studio.chat("Bonjour", seed=1),
        "transcript-four-files": lambda: studio.speech_to_text(NOISE),
        "token-table": lambda: studio.next_token("Bonjour", top_k=3),
    }


@pytest.mark.parametrize("kind", ["image", "speech-wav", "chat-json-and-md", "transcript-four-files", "token-table"])
@pytest.mark.parametrize("left", ["no-room", "half-the-room"])
def test_a_full_disk_is_a_clear_error_and_leaves_no_file(studio, tmp_path, monkeypatch, kind, left):
    result = results(studio)[kind]()
    needed = sum(p.stat().st_size for p in Studio(preset="tiny", outputs=tmp_path / "elsewhere").save(result))
    target = Studio(preset="tiny", outputs=tmp_path / "outputs")
    disk = FullDisk(0 if left == "no-room" else needed // 2)  # half: it fills inside a later file of several
    monkeypatch.setattr(outputs.os, "fdopen", disk.open)
    with pytest.raises(OutputError, match="No space left on device. Free some space or set STUDIO_OUTPUTS"):
        target.save(result)
    monkeypatch.undo()
    day = outputs.day_folder(target.outputs)
    assert sorted(p.name for p in day.iterdir()) == []  # no partial file, no temporary file
    assert target.save(result)  # and with room again, it saves


def test_a_disk_that_fills_while_names_are_given_leaves_no_file(studio, tmp_path, monkeypatch):
    """The second of a chat's two files cannot be published: the first is taken back."""
    result = studio.chat("Bonjour", seed=1)
    publish, calls = outputs._publish, []

    def second_fails(temporary, final):
        calls.append(final)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        publish(temporary, final)

    monkeypatch.setattr(outputs, "_publish", second_fails)
    with pytest.raises(OutputError, match="No space left"):
        Studio(preset="tiny", outputs=tmp_path / "outputs").save(result)
    assert list(outputs.day_folder(tmp_path / "outputs").iterdir()) == []


# -- the web app, in this process so its model cache and threads can be seen ------------------------

@pytest.fixture(scope="module")
def web(tmp_path_factory):
    from studio.serving.serve import launch

    studio = Studio(preset="tiny", outputs=tmp_path_factory.mktemp("faults-app") / "outputs")
    port = free_port()
    app = launch(studio, port=port, concurrency=2, block=False)
    try:
        url = f"http://127.0.0.1:{port}/"
        client = Client(url, verbose=False)
        client.predict(prompt="a fox", seed=1, api_name="/text_to_image")  # warm: models loaded, threads started
        client.predict(message="Bonjour", seed=1, api_name="/chat")
        yield SimpleNamespace(studio=studio, app=app, url=url, client=client)
    finally:
        app.close()


def fn_id(app, name: str) -> int:
    """The event id the browser uses for handler `name` (UI-only events included)."""
    return next(fn._id for fn in app.fns.values() if getattr(fn.fn, "__name__", "") == name)


def lm_run_lock(studio):
    entry = next(e for k, e in studio.models._entries.items() if k.kind == "text")
    return entry.run_lock


def free(lock) -> bool:
    if lock.acquire(blocking=False):
        lock.release()
        return True
    return False


@pytest.fixture
def slow_language_model(web, monkeypatch):
    """The tiny LM made slow (10 ms a token), so a reply lasts long enough to leave or stop it; counts its steps."""
    with web.studio._use("text", web.studio.model_ref("text"), LanguageModel.from_pretrained) as lm:
        forward = lm.model.forward
    steps = []

    def slow(*args, **kwargs):
        steps.append(1)
        time.sleep(0.01)
        return forward(*args, **kwargs)

    monkeypatch.setattr(lm.model, "forward", slow)
    return steps


@pytest.fixture
def image_steps(web, monkeypatch):
    """The denoising steps the web app's text_to_image runs, as (step, total)."""
    steps, original = [], web.studio.text_to_image

    def counted(*args, callback=None, **kwargs):
        def on_step(step, total, preview):
            steps.append((step, total))
            if callback is not None:
                callback(step, total, preview)

        return original(*args, callback=on_step, **kwargs)

    monkeypatch.setattr(web.studio, "text_to_image", counted)
    return steps


def leave_after_first_update(url: str, fn_index: int, data: list, session: str) -> None:
    """Join the queue as a browser does, read until the first streamed update, then close the connection."""
    with httpx.Client(base_url=url, timeout=60) as http:
        joined = http.post("gradio_api/queue/join", json={"data": data, "fn_index": fn_index, "session_hash": session})
        assert joined.status_code == 200, joined.text
        with http.stream("GET", "gradio_api/queue/data", params={"session_hash": session}) as events:
            for line in events.iter_lines():
                if '"process_generating"' in line:
                    return


def test_a_client_leaving_mid_image_leaks_nothing(web, image_steps):
    threads = threading.active_count()
    before = sorted(web.studio.outputs.rglob("*.png"))
    # 150 steps with a preview after each: seconds of work, and the first preview comes at once
    data = ["a slow fox", "", 150, 7.5, 128, 128, 9, 1, "default", 1, None, [], 0.8, False, 2.0, 0, 0.7, "latent", None, None, "canny", 1.0, 0, 1]
    leave_after_first_update(web.url, fn_id(web.app, "text_to_image"), data, "leaves-mid-image")
    assert eventually(lambda: not studio_threads()), studio_threads()
    assert 0 < max(step for step, total in image_steps if total == 150) < 150  # stopped after the client left
    gallery, _, recipe = web.client.predict(prompt="a fox", seed=2, api_name="/text_to_image")  # the model is free
    assert np.array_equal(np.asarray(Image.open(gallery[0]["image"])),
                          np.asarray(web.studio.text_to_image("a fox", seed=2).images[0]))
    saved = sorted(web.studio.outputs.rglob("*.png"))
    assert [p for p in saved if p not in before and "slow-fox" in p.name] == []  # the abandoned one was not finished
    assert eventually(lambda: threading.active_count() <= threads), (threading.active_count(), threads)


def test_a_client_leaving_mid_reply_leaks_nothing(web, slow_language_model):
    threads = threading.active_count()
    data = ["Bonjour", [], "", 0.7, 0.9, 50, 200, 1.0, 4, None]
    leave_after_first_update(web.url, fn_id(web.app, "chat"), data, "leaves-mid-reply")
    assert eventually(lambda: not studio_threads()), studio_threads()
    assert free(lm_run_lock(web.studio))
    assert len(slow_language_model) < 200  # the reply stopped at the token after the client left
    *_, conversation, recipe, _ = web.client.predict(message="Salut", seed=5, max_new_tokens=20, api_name="/chat")
    assert conversation[-1]["content"] == web.studio.chat("Salut", seed=5, max_new_tokens=20).text
    assert eventually(lambda: threading.active_count() <= threads), (threading.active_count(), threads)


@pytest.mark.parametrize("how", ["stop-button", "cancel"])
def test_stopping_one_reply_leaves_the_other_users_reply_whole(web, slow_language_model, studio, how):
    first, second = Client(web.url, verbose=False), Client(web.url, verbose=False)
    stopped = first.submit(message="Bonjour", seed=1, max_new_tokens=200, api_name="/chat")
    assert eventually(lambda: len(stopped.outputs()) >= 3, 60)  # it is streaming
    whole = second.submit(message="Salut", seed=2, max_new_tokens=40, api_name="/chat")  # waits for the model
    if how == "stop-button":  # what the Stop button sends: the UI-only event, in the first user's session
        with httpx.Client(base_url=web.url, timeout=30) as http:
            answer = http.post("gradio_api/run/predict",
                               json={"data": [], "fn_index": fn_id(web.app, "request_stop"), "session_hash": first.session_hash})
            assert answer.status_code == 200, answer.text
        *_, recipe, _ = stopped.result(timeout=60)
        assert recipe["finish_reason"] == "stopped" and recipe["tokens"] < 200
    else:
        stopped.cancel()
    *_, conversation, recipe, _ = whole.result(timeout=120)
    assert len(slow_language_model) < 200  # the first reply did not run on to its 200 tokens
    assert recipe["finish_reason"] != "stopped"
    assert conversation[-1]["content"] == studio.chat("Salut", seed=2, max_new_tokens=40).text
    assert eventually(lambda: not studio_threads()), studio_threads()
    assert free(lm_run_lock(web.studio))


def test_cancelling_one_image_leaves_the_other_users_image_whole(web, image_steps, studio):
    first, second = Client(web.url, verbose=False), Client(web.url, verbose=False)
    slow = dict(prompt="a slow fox", steps=150, width=128, height=128, preview_every=1, seed=9)
    cancelled = first.submit(**slow, api_name="/text_to_image")
    assert eventually(lambda: len(image_steps) >= 3, 60)  # it is drawing
    whole = second.submit(prompt="a fox", seed=3, api_name="/text_to_image")  # waits for the model
    cancelled.cancel()
    gallery, _, recipe = whole.result(timeout=120)
    assert np.array_equal(np.asarray(Image.open(gallery[0]["image"])),
                          np.asarray(studio.text_to_image("a fox", seed=3).images[0]))
    assert max(step for step, total in image_steps if total == 150) < 150
    assert eventually(lambda: not studio_threads()), studio_threads()


def test_out_of_memory_through_the_web_page(web, monkeypatch):
    monkeypatch.setattr(_Diffusion, "_generate", out_of_memory)
    with pytest.raises(AppError, match="out of memory while generating images: try a smaller size"):
        web.client.predict(prompt="a fox", seed=1, api_name="/text_to_image")
    assert web.studio.loaded_models() == []
    monkeypatch.undo()
    _, _, recipe = web.client.predict(prompt="a fox", seed=1, api_name="/text_to_image")
    assert recipe["seed"] == 1


def test_an_unwritable_outputs_folder_through_the_web_page(web):
    day = outputs.day_folder(web.studio.outputs)
    shutil.rmtree(day, ignore_errors=True)
    day.write_text("a file where the folder of the day should be")  # fails even for root, unlike chmod
    try:
        with pytest.raises(AppError, match="could not write to the outputs folder .*STUDIO_OUTPUTS"):
            web.client.predict(text="Bonjour", seed=1, api_name="/text_to_speech")
    finally:
        day.unlink()
    path, recipe = web.client.predict(text="Bonjour", seed=1, api_name="/text_to_speech")
    assert Path(path).name.endswith(".wav") and recipe["seed"] == 1


def test_a_server_whose_outputs_folder_cannot_be_made_says_so_and_exits(tmp_path):
    import subprocess
    import sys

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    env = {**os.environ, "STUDIO_PRESET": "tiny", "STUDIO_OUTPUTS": str(blocker)}
    done = subprocess.run([sys.executable, "app.py", "--port", str(free_port())], cwd=Path(__file__).parents[1], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "outputs folder" in done.stderr and "STUDIO_OUTPUTS" in done.stderr and "Traceback" not in done.stderr
