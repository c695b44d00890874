"""Holes tried from outside, over HTTP against `python app.py`: each one stays closed.

Files named by a client, parsers fed hostile text, audio whose header lies, JSON
nested past reason, a cancelled image, a URL the server would fetch, temporary
files that cut uploads and crashes leave behind, types the API schema gives.
This server has its own gradio temp folder, so the files counted there are its own.
"""

import base64
import io
import json
import socket
import struct
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf
from gradio_client import Client, handle_file
from PIL import Image, PngImagePlugin

from tests.support.server import AppServer

ROOT = Path(__file__).resolve().parents[1]
REFUSED = "names a file this server does not serve to clients"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("outside")
    day = folder / "outputs" / "2026-01-01"
    day.mkdir(parents=True)
    (day / ".tmp-999999999-abc").write_bytes(b"half a PNG")  # left by a writer killed mid-save
    (day / "00001-kept.png").write_bytes(b"a finished output")
    app = AppServer(folder, env={"GRADIO_TEMP_DIR": str(folder / "gradio-tmp")})
    app.temp = folder / "gradio-tmp"
    app.day = day
    yield app
    app.stop()


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def client(server):
    return Client(server.url, verbose=False)


def call(http, api: str, data: list) -> str:
    """An API call as any HTTP client can make it; the event stream's text."""
    joined = http.post(f"gradio_api/call/{api}", json={"data": data})
    assert joined.status_code == 200, joined.text
    return http.get(f"gradio_api/call/{api}/{joined.json()['event_id']}").text


def error_of(stream: str) -> str:
    assert "event: error" in stream, stream[-500:]
    return json.loads(stream.split("event: error\ndata: ", 1)[1].splitlines()[0])["error"]


def fn_index(http, name: str) -> int:
    return next(d["id"] for d in http.get("config").json()["dependencies"] if d.get("api_name") == name)


def run_ui_event(http, name: str, data: list) -> dict:
    """A UI-only (private) event, as the page sends it."""
    answer = http.post("gradio_api/run/predict", json={"data": data, "fn_index": fn_index(http, name), "session_hash": "outside"})
    return answer.json()


def upload(http, path: Path) -> dict:
    with open(path, "rb") as file:
        [stored] = http.post("gradio_api/upload", files={"files": (path.name, file)}).json()
    return {"path": stored, "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}


def outputs(server) -> set[Path]:
    return {p for p in server.outputs.rglob("*") if p.is_file() and ".thumbnails" not in p.parts}


# -- files a client names -------------------------------------------------------------------------

def test_image_inputs_read_no_server_file_and_answer_alike_whether_it_exists(server, http, tmp_path):
    secret = tmp_path / "never-uploaded.png"
    Image.new("RGB", (64, 64), (200, 10, 10)).save(secret)
    before = outputs(server)
    messages = set()
    for named in [str(secret), "/etc/passwd", "/etc/no-such-file", f"{server.outputs}/../../../../etc/passwd",
                  "http://127.0.0.1:1/x.png", "file:///etc/passwd", str(ROOT / "README.md")]:
        for without_meta in ({"path": named}, {"path": named, "url": named}, {"path": named, "meta": {"_type": "gradio.FileData"}}):
            for api, request in [("upscale", [without_meta, 2, 256]), ("vae_latents", [without_meta]),
                                 ("image_to_image", [without_meta, "a fox", "", 0.6, 2, 7.5, 0, 0, 1, 1, "default", 0])]:
                message = error_of(call(http, api, request))
                assert REFUSED in message and named not in message, (api, named, message)
                messages.add(message)
    assert len(messages) == 1  # no oracle: a file that exists and one that does not get the same answer
    assert outputs(server) == before


def test_an_uploaded_image_and_an_output_are_read(server, http, client, tmp_path):
    picture = tmp_path / "mine.png"
    Image.new("RGB", (64, 64), (10, 200, 10)).save(picture)
    path, recipe = client.predict(image=handle_file(str(picture)), scale=2, api_name="/upscale")
    assert recipe["width"] == 128
    made = next(p for p in server.outputs.rglob("*upscale*.png"))
    assert "event: complete" in call(http, "vae_latents", [{"path": str(made)}])


def test_a_huge_png_is_refused_from_its_header(http, tmp_path):
    big = tmp_path / "huge.png"
    Image.new("L", (12000, 12000)).save(big, optimize=True)  # a few hundred KB, 144 million pixels
    message = error_of(call(http, "upscale", [upload(http, big), 2, 256, None]))
    assert "12000x12000" in message and "4096" in message
    pasted = "data:image/png;base64," + base64.b64encode(big.read_bytes()).decode()
    message = error_of(call(http, "vae_latents", [{"url": pasted}]))
    assert "12000x12000" in message


def test_the_server_fetches_no_url_for_a_client(http):
    hits = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(0.2)
        port = listener.getsockname()[1]

        def accept():
            try:
                while True:
                    hits.append(listener.accept()[0])
            except OSError:
                pass

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        for path in [f"gradio_api/file=http://127.0.0.1:{port}/x.png", f"gradio_api/file=https://127.0.0.1:{port}/x",
                     f"gradio_api/file=//127.0.0.1:{port}/x", f"gradio_api/file=http%3A//127.0.0.1:{port}/x",
                     f"gradio_api/proxy=http://127.0.0.1:{port}/", f"file=http://127.0.0.1:{port}/x.png"]:
            assert 400 <= http.get(path).status_code < 500, path
        for data in ([{"path": f"http://127.0.0.1:{port}/a.wav", "meta": {"_type": "gradio.FileData"}}, "transcribe", "auto", True, 8],):
            assert REFUSED in error_of(call(http, "speech_to_text", data))
        time.sleep(0.5)
    assert hits == []


# -- parsers: linear, bounded, off the event loop ------------------------------------------------------

def png_with_parameters(path: Path, text: str) -> Path:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", text)
    Image.new("RGB", (16, 16)).save(path, pnginfo=info)
    return path


def test_settings_from_a_file_refuse_an_oversized_infotext_and_read_a_long_one(http, tmp_path):
    huge = png_with_parameters(tmp_path / "huge.png", "word " * 12_000)  # 60 KB on one line, no ":"
    answer = run_ui_event(http, "load_file", [upload(http, huge)])
    assert "limit" in json.dumps(answer) and "characters" in json.dumps(answer), answer
    long = png_with_parameters(tmp_path / "long.png", "a" * 30_000 + "\nSteps: 2, Sampler: Euler, Seed: 3")
    answer = run_ui_event(http, "load_file", [upload(http, long)])
    recipe = answer["data"][0]
    assert recipe["steps"] == 2 and recipe["seed"] == 3 and len(recipe["prompt"]) == 30_000


def wait_running(job) -> None:
    deadline = time.monotonic() + 120
    while job.status().code.name not in ("PROCESSING", "ITERATING", "PROGRESS") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not job.done()


def test_while_a_slow_request_runs_the_page_answers(server, http):
    slow = Client(server.url, verbose=False).submit(prompt="a slow fox", steps=60, width=128, height=128, seed=1,
                                                     preview_every=0, api_name="/text_to_image")
    wait_running(slow)
    for page in ("", "gradio_api/info", "config"):
        assert http.get(page).status_code == 200, page
    assert not slow.done()  # answered while the generation was still running
    slow.cancel()


# -- audio checked against its content ------------------------------------------------------------------

def wav_bytes(frames: int = 16000, channels: int = 1) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, (0.1 * np.random.default_rng(1).standard_normal((frames, channels))).astype(np.float32), 16000,
             format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def test_audio_whose_header_lies_or_is_cut_or_has_too_many_channels_is_refused(http, client, tmp_path):
    whole = wav_bytes()
    data = whole.index(b"data")
    cases = {
        "lying.wav": (whole[:data + 4] + struct.pack("<I", 2**31) + whole[data + 8:data + 8 + 2000], "cut short"),
        "cut.wav": (whole[:len(whole) // 2], "cut short"),
        "nine.wav": (wav_bytes(1600, 9), "9 channels"),
    }
    for name, (content, expected) in cases.items():
        (tmp_path / name).write_bytes(content)
        for api, request in [("speech_to_text", [upload(http, tmp_path / name), "transcribe", "auto", True, 8, False, False, None]),
                             ("audio_to_audio", [upload(http, tmp_path / name), "continue", "", 2, True, "en", 3, 1,
                                                 250, 1, "wav", None, False])]:
            message = error_of(call(http, api, request))
            assert expected in message and name in message and str(tmp_path) not in message, (api, name, message)
    (tmp_path / "streamed.wav").write_bytes(whole[:data + 4] + struct.pack("<I", 0xFFFFFFFF) + whole[data + 8:])
    assert isinstance(client.predict(audio=handle_file(str(tmp_path / "streamed.wav")), api_name="/speech_to_text")[0], str)


# -- JSON nested past reason ---------------------------------------------------------------------------------

def test_deep_json_gets_a_clear_message(http, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    answer = json.dumps(run_ui_event(http, "reload", [upload(http, deep)]))
    assert "nested too deeply" in answer and "RecursionError" not in answer, answer
    nested: list = []
    for _ in range(500):
        nested = [nested]
    message = error_of(call(http, "chat", ["hi", nested, "", 0.7, 0.9, 50, 8, 1.0, 1]))
    assert "nested too deeply" in message
    body = '{"data": ["hi", ' + "[" * 100_000 + "]" * 100_000 + ', "", 0.7, 0.9, 50, 8, 1.0, 1]}'
    answer = http.post("gradio_api/call/chat", content=body, headers={"content-type": "application/json"})
    assert 400 <= answer.status_code < 500


# -- temporary files ------------------------------------------------------------------------------------------

def loose_temp_files(server) -> list[Path]:
    """Files at the top of gradio's temp folder: uploads land in hashed sub-folders, temporary files at the top."""
    return sorted(p for p in server.temp.iterdir() if p.is_file()) if server.temp.exists() else []


def test_cut_uploads_and_settings_loads_leave_no_temp_file(server, http, tmp_path):
    host, port = "127.0.0.1", server.port
    for _ in range(3):
        with socket.create_connection((host, port)) as raw:
            boundary = "cutcutcut"
            head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.wav\"\r\n"
                    "Content-Type: audio/wav\r\n\r\n").encode()
            raw.sendall((f"POST /gradio_api/upload HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; "
                         f"boundary={boundary}\r\nContent-Length: 5000000\r\n\r\n").encode() + head + b"\0" * 400_000)
            time.sleep(0.3)
    saved = png_with_parameters(tmp_path / "recipe.png", "a fox\nSteps: 2, Sampler: Euler, Seed: 3")
    conversation = tmp_path / "chat.json"
    conversation.write_text(json.dumps([{"role": "user", "content": "hi"}]))
    assert run_ui_event(http, "load_file", [upload(http, saved)])["data"][0]["seed"] == 3
    assert run_ui_event(http, "reload", [upload(http, conversation)])["data"][0] == [{"role": "user", "content": "hi"}]
    deadline = time.monotonic() + 30
    while loose_temp_files(server) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert loose_temp_files(server) == []


def test_staging_files_a_crash_left_are_removed_at_start(server):
    assert not (server.day / ".tmp-999999999-abc").exists()
    assert (server.day / "00001-kept.png").read_bytes() == b"a finished output"


# -- cancellation ----------------------------------------------------------------------------------------------------

def test_a_cancelled_image_without_previews_stops_and_saves_nothing(server, client):
    before = outputs(server)
    job = Client(server.url, verbose=False).submit(prompt="a cancelled fox", steps=60, width=128, height=128, seed=4,
                                                    preview_every=0, api_name="/text_to_image")
    wait_running(job)
    job.cancel()
    # The same work, not cancelled: had the cancelled one run on, it would have finished first, having started first.
    _, _, recipe = client.predict(prompt="a patient fox", steps=60, width=128, height=128, seed=5, preview_every=0,
                                  api_name="/text_to_image")
    assert recipe["seed"] == 5
    assert not [p for p in outputs(server) - before if "cancelled-fox" in p.name]


# -- the API schema and the handlers agree -------------------------------------------------------------------------

def test_the_schema_gives_each_choice_its_type_and_the_handler_takes_it(http, client, tmp_path):
    info = http.get("gradio_api/info").json()["named_endpoints"]
    scale = next(p for p in info["/upscale"]["parameters"] if p["parameter_name"] == "scale")
    assert scale["type"]["type"] == "integer" and scale["type"]["enum"] == [2, 4]
    picture = tmp_path / "small.png"
    Image.new("RGB", (32, 32)).save(picture)
    _, recipe = client.predict(image=handle_file(str(picture)), scale=4, api_name="/upscale")
    assert recipe["scale"] == 4


def test_messages_name_no_server_folder(http):
    message = error_of(call(http, "text_to_speech", ["漢字漢字", "en", 1.0, 0.2, 1, "wav", None, None, None, None]))
    assert "voice can read" in message and "/" not in message, message
    message = error_of(call(http, "text_to_speech", ["hello", "en", 1.0, 0.2, 1, "wav", None, None, None]))  # one short
    assert "10 values" in message and "reference_text is missing" in message and "object at" not in message, message


def test_the_voice_field_reads_no_server_file_and_answers_alike_whether_it_exists(server, http, tmp_path):
    secret = tmp_path / "secret.wav"
    sf.write(secret, (0.1 * np.random.default_rng(3).standard_normal(16_000 * 8)).astype(np.float32), 16_000)
    before = outputs(server)
    messages = set()
    for named in [str(secret), str(tmp_path / "missing.wav"), "/etc/passwd", "README.md", "../README.md", "app.py"]:
        message = error_of(call(http, "text_to_speech", ["hello", "en", 1.0, 0.2, 1, "wav", None, named, None, None]))
        assert "is not a voice of this studio" in message, (named, message)
        messages.add(message.replace(repr(named[:80]), "NAMED"))
    assert len(messages) == 1, messages  # the same answer whatever the name points at
    assert outputs(server) == before


def test_restoring_a_recipe_writes_no_file_into_a_file_input(http, tmp_path):
    # A recipe comes from the client (the recipe box, a loaded file). A path it names, written into an
    # image or audio input, would be copied into gradio's cache and served: any file of the server's
    # working folder or temp folder. The restore writes the settings and leaves file inputs alone.
    secret = tmp_path / "secret.txt"
    secret.write_text("not for clients")
    for named in [str(secret), str(ROOT / "app.py")]:
        recipe = {"task": "text_to_image", "prompt": "a fox", "image": named, "mask": named, "audio": named,
                  "control": [{"image": named, "scale": 0.5}]}
        answer = run_ui_event(http, "restore_recipe", [recipe])
        assert "data" in answer, answer
        written = [update["value"] for update in answer["data"] if isinstance(update, dict) and "value" in update]
        assert "a fox" in written and 0.5 in written, written
        assert not any(isinstance(value, dict) and "path" in value for value in written), written
        assert "not for clients" not in json.dumps(answer) and Path(named).name not in json.dumps(answer)


@pytest.mark.parametrize("keywords, field", [
    ({"control_model": "{named}", "control_image": "IMAGE"}, "control_model"),
    ({"x_setting": "model", "x_values": "tiny:sd, {named}"}, "x values"),
    ({"x_setting": "steps", "x_values": "1", "y_setting": "model", "y_values": "{named}"}, "y values"),
])
def test_models_named_beside_the_tabs_model_are_no_server_paths(client, tmp_path, keywords, field):
    # The ControlNet model and an X/Y plot's model axis are typed freely, like the tab's model, and the
    # studio loads any path it is given: a client names a hub id or a library name, nothing on the disk.
    api = "/xy_plot" if "x_setting" in keywords else "/text_to_image"
    picture = tmp_path / "control.png"
    Image.new("RGB", (64, 64), "white").save(picture)
    messages = set()
    for named in ["/etc", str(ROOT / "studio"), "/no/such/folder", "~root", "./studio", "./app.py"]:
        sent = {k: handle_file(str(picture)) if v == "IMAGE" else v.replace("{named}", named) for k, v in keywords.items()}
        with pytest.raises(Exception) as refused:
            client.predict(prompt="a fox", steps=1, width=64, height=64, api_name=api, **sent)
        message = str(refused.value)
        assert f"{field} must be a hub id" in message and "holds no weights" not in message, (named, message)
        messages.add(message.replace(repr(named), "NAMED"))
    assert len(messages) == 1, messages  # the same answer whatever the name points at


def test_a_model_name_too_long_for_a_file_is_named_as_such(http, client):
    # Looked up in the models folder, such a name raised OSError ("File name too long"): a message
    # naming the exception class and a server path, and a traceback in the log.
    for named in ["x" * 5000, "org/" + "x" * 300]:
        with pytest.raises(Exception) as refused:
            client.predict(text="hello", mode="continue", max_new_tokens=2, model=named, api_name="/text_to_text")
        message = str(refused.value)
        assert "model name is too long" in message and "OSError" not in message and "models/" not in message, message
    answer = json.dumps(run_ui_event(http, "fetch", ["org/" + "x" * 300]))
    assert "model name is too long" in answer and "OSError" not in answer, answer
