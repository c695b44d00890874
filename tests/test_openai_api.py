"""The OpenAI-compatible REST API, driven by the official `openai` client against `python app.py` on the tiny preset.

Every answer is checked against the `Studio` call it stands for, run here with
the same seed: the same text, samples and pixels. Errors are checked for their
status and OpenAI's body shape. The device queue is checked in-process, where
the models' use can be watched: UI clicks and REST calls at the same time never
run two models at once.
"""

import base64
import inspect
import io
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import openai
import pytest
import soundfile as sf
from PIL import Image

from studio import Studio
from studio.serving.device_queue import DeviceQueue, Queued, QueueFull
from tests.support.server import AppServer, free_port

KEY = "sk-test-7c1e"
HI = [{"role": "user", "content": "Bonjour ! Qui es-tu ?"}]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    app = AppServer(tmp_path_factory.mktemp("api-app"), "--max-file-size", "1mb", "--queue-size", "2",
                    env={"STUDIO_API_KEY": KEY})
    yield app
    app.stop()


@pytest.fixture(scope="module")
def api(server):
    return openai.OpenAI(base_url=f"{server.url}v1", api_key=KEY, max_retries=0, timeout=300)


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=f"{server.url}v1/", headers={"Authorization": f"Bearer {KEY}"}, timeout=300) as client:
        yield client


@pytest.fixture(scope="module")
def spoken(studio, tmp_path_factory):
    """A WAV of speech made by the studio, as a user would upload it."""
    [path] = Studio(preset="tiny", outputs=tmp_path_factory.mktemp("spoken")).save(
        studio.text_to_speech("Bonjour à tous, ceci est un essai.", language="fr", seed=3))
    return path


def openai_error(response: httpx.Response, status: int, param=None) -> dict:
    """The error body, after checking its status and OpenAI's shape."""
    assert response.status_code == status, (response.status_code, response.text)
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"], error
    assert error["type"] == ("invalid_request_error" if status < 500 and status != 401 else
                             "authentication_error" if status == 401 else "server_error"), error
    if param is not None:
        assert error["param"] == param, error
    assert "Traceback" not in error["message"] and "/work/" not in error["message"]
    return error


# -- models ------------------------------------------------------------------------------------------

def test_models_lists_the_presets_models_per_task(api):
    cards = {model.id: model for model in api.models.list()}
    # the preset's first (a speech alternative after its voices), then the library's
    assert list(cards)[:5] == ["tiny:chat", "tiny:tts", "tiny:tts_speakers", "tiny:whisper", "tiny:sd"]
    assert cards["tiny:chat"].tasks == ["chat", "completions"]
    assert cards["tiny:tts"].voices == ["en", "fr"]
    assert api.models.retrieve("tiny:sd").tasks == ["images"]
    with pytest.raises(openai.NotFoundError):
        api.models.retrieve("gpt-4o")


# -- chat and completions -----------------------------------------------------------------------------

def test_a_chat_reply_is_studio_chat_for_the_same_seed(api, studio):
    expected = studio.chat(HI, seed=7)
    reply = api.chat.completions.create(model="default", messages=HI, seed=7)
    assert reply.object == "chat.completion" and reply.model == "tiny:chat"
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content == expected.text and expected.text
    assert reply.choices[0].finish_reason == ("length" if expected.params["finish_reason"] == "length" else "stop")
    assert reply.usage.completion_tokens == expected.params["tokens"]
    assert reply.usage.prompt_tokens == expected.params["prompt_tokens"] > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    same = api.chat.completions.create(model="tiny:chat", messages=HI, seed=7, temperature=None)
    assert same.choices[0].message.content == expected.text


def test_streamed_chunks_join_to_the_same_reply_and_end_with_done(api, studio, http):
    expected = studio.chat(HI, seed=8, max_new_tokens=12, temperature=0.5)
    chunks = list(api.chat.completions.create(model="default", messages=HI, seed=8, max_tokens=12, temperature=0.5,
                                              stream=True, stream_options={"include_usage": True}))
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == expected.text
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 12
    raw = http.post("chat/completions", json={"model": "default", "messages": HI, "seed": 8, "max_tokens": 3, "stream": True})
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert raw.text.rstrip().endswith("data: [DONE]")


def test_a_stop_string_ends_the_reply_where_it_starts(api, studio):
    full = studio.chat(HI, seed=9).text
    stop = full[10:13]
    cut = full[:full.index(stop)]
    reply = api.chat.completions.create(model="default", messages=HI, seed=9, stop=[stop, "never-there"])
    assert reply.choices[0].message.content == cut and reply.choices[0].finish_reason == "stop"
    streamed = api.chat.completions.create(model="default", messages=HI, seed=9, stop=stop, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == cut


def test_completions_continue_the_prompt_as_text_to_text_does(api, studio):
    expected = studio.text_to_text("Il était une fois", mode="continue", seed=4, max_new_tokens=8)
    reply = api.completions.create(model="default", prompt="Il était une fois", seed=4, max_tokens=8)
    assert reply.object == "text_completion" and reply.choices[0].text == expected.text
    assert reply.usage.completion_tokens == 8 and reply.choices[0].finish_reason == "length"
    echoed = api.completions.create(model="tiny:chat", prompt=["Il était une fois"], seed=4, max_tokens=8, echo=True)
    assert echoed.choices[0].text == "Il était une fois" + expected.text
    streamed = api.completions.create(model="default", prompt="Il était une fois", seed=4, max_tokens=8, stream=True)
    assert "".join(c.choices[0].text for c in streamed) == expected.text


# -- audio -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("response_format", ["wav", "flac", "mp3"])
def test_speech_is_the_studios_voice_with_its_recipe(api, studio, tmp_path, response_format):
    answer = api.audio.speech.create(model="default", voice="fr", input="Bonjour à tous", response_format=response_format,
                                     extra_body={"seed": 5})
    path = tmp_path / f"speech.{response_format}"
    answer.write_to_file(path)
    recipe = Studio.read_recipe(path)
    assert recipe["task"] == "text_to_speech" and recipe["seed"] == 5 and recipe["language"] == "fr"
    if response_format != "mp3":  # lossless: the very samples the studio speaks
        [reference] = Studio(preset="tiny", outputs=tmp_path / "ref").save(
            studio.text_to_speech("Bonjour à tous", language="fr", seed=5), format=response_format)
        assert sf.read(path, dtype="int16")[0].tolist() == sf.read(reference, dtype="int16")[0].tolist()


def test_speech_speed_is_the_speaking_rate(api, tmp_path):
    slow = api.audio.speech.create(model="tiny:tts", voice="en", input="Hello there", response_format="wav", speed=0.5,
                                   extra_body={"seed": 1})
    fast = api.audio.speech.create(model="tiny:tts", voice="en", input="Hello there", response_format="wav", speed=2.0,
                                   extra_body={"seed": 1})
    assert len(sf.read(io.BytesIO(slow.content))[0]) > len(sf.read(io.BytesIO(fast.content))[0])


def test_transcriptions_in_every_format_are_the_studios_transcript(api, studio, spoken):
    plain = studio.speech_to_text(str(spoken), task="transcribe", language="auto", timestamps=False)
    timed = studio.speech_to_text(str(spoken), task="transcribe", language="auto", timestamps=True)

    def ask(response_format):
        with open(spoken, "rb") as file:
            return api.audio.transcriptions.create(model="default", file=file, response_format=response_format)

    assert ask("json").text == plain.text
    assert ask("text").strip() == plain.text.strip()
    assert ask("srt") == timed.to_srt()
    assert ask("vtt") == timed.to_vtt()
    verbose = ask("verbose_json")
    assert verbose.text == timed.text and verbose.language == timed.language
    assert verbose.duration == pytest.approx(timed.params["audio_seconds"])
    assert [(s.start, s.end, s.text) for s in verbose.segments] == [tuple(s) for s in timed.segments]
    worded = studio.speech_to_text(str(spoken), task="transcribe", language="auto", timestamps="word")
    with open(spoken, "rb") as file:
        words = api.audio.transcriptions.create(model="default", file=file, response_format="verbose_json",
                                                timestamp_granularities=["word", "segment"])
    assert [(w.start, w.end, w.word) for w in words.words] == [tuple(w) for w in worded.word_list()]


def test_translations_are_whispers_translate_task(api, studio, spoken):
    expected = studio.speech_to_text(str(spoken), task="translate", language="auto", timestamps=False)
    with open(spoken, "rb") as file:
        answer = api.audio.translations.create(model="tiny:whisper", file=file)
    assert answer.text == expected.text
    with open(spoken, "rb") as file:
        verbose = api.audio.translations.create(model="default", file=file, response_format="verbose_json")
    assert verbose.task == "translate"


# -- images ------------------------------------------------------------------------------------------

def _pixels(image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


def test_images_b64_are_the_studios_pixels_and_recipe(api, studio):
    expected = studio.text_to_image("a red fox", seed=5, steps=2, width=64, height=64, batch_size=2, negative_prompt="blur")
    answer = api.images.generate(model="default", prompt="a red fox", n=2, size="64x64", response_format="b64_json",
                                 extra_body={"seed": 5, "steps": 2, "negative_prompt": "blur"})
    assert [item.seed for item in answer.data] == expected.seeds == [5, 6]
    for item, image in zip(answer.data, expected.images, strict=True):
        png = Image.open(io.BytesIO(base64.b64decode(item.b64_json)))
        assert np.array_equal(_pixels(png), _pixels(image))
        assert "Negative prompt: blur" in png.info["parameters"] and "Seed: " in png.info["parameters"]


def test_image_urls_are_outputs_served_with_their_signature_only(api, server, studio):
    answer = api.images.generate(model="default", prompt="a red fox", size="64x64", extra_body={"seed": 6, "steps": 2})
    url = answer.data[0].url
    assert url.startswith(f"{server.url}v1/outputs/") and "?sig=" in url
    with httpx.Client(timeout=60) as browser:  # no key: an <img> on a page
        shown = browser.get(url)
        assert shown.status_code == 200 and shown.headers["content-type"] == "image/png"
        expected = studio.text_to_image("a red fox", seed=6, steps=2, width=64, height=64).images[0]
        assert np.array_equal(_pixels(Image.open(io.BytesIO(shown.content))), _pixels(expected))
        bare, signature = url.split("?sig=")
        openai_error(browser.get(bare), 401)
        openai_error(browser.get(f"{bare}?sig={'0' * len(signature)}"), 401)
        openai_error(browser.get(f"{server.url}v1/outputs/..%2f..%2f..%2fetc%2fpasswd",
                                 headers={"Authorization": f"Bearer {KEY}"}), 404)
        openai_error(browser.get(f"{server.url}v1/outputs/%2fetc%2fpasswd", headers={"Authorization": f"Bearer {KEY}"}), 404)


def test_image_edits_are_image_to_image(api, studio, tmp_path):
    source = studio.text_to_image("a red fox", seed=7, steps=2, width=64, height=64).images[0]
    path = tmp_path / "fox.png"
    source.save(path)
    expected = studio.image_to_image(str(path), "a watercolor fox", seed=8, steps=2, strength=0.7)
    with open(path, "rb") as image:
        answer = api.images.edit(model="default", image=image, prompt="a watercolor fox", response_format="b64_json",
                                 extra_body={"seed": 8, "steps": 2, "strength": 0.7})
    edited = Image.open(io.BytesIO(base64.b64decode(answer.data[0].b64_json)))
    assert np.array_equal(_pixels(edited), _pixels(expected.images[0]))


def test_image_edits_with_a_mask_are_inpainting(api, studio, tmp_path):
    source = studio.text_to_image("a red fox", seed=7, steps=2, width=64, height=64).images[0]
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    source.save(tmp_path / "fox.png")
    mask.save(tmp_path / "mask.png")
    expected = studio.inpaint(str(tmp_path / "fox.png"), str(tmp_path / "mask.png"), "a cat", seed=9, steps=2)
    with open(tmp_path / "fox.png", "rb") as image, open(tmp_path / "mask.png", "rb") as masked:
        answer = api.images.edit(model="default", image=image, mask=masked, prompt="a cat", response_format="b64_json",
                                 extra_body={"seed": 9, "steps": 2})
    painted = _pixels(Image.open(io.BytesIO(base64.b64decode(answer.data[0].b64_json))))
    assert np.array_equal(painted, _pixels(expected.images[0]))
    assert np.array_equal(painted[:8, :8], _pixels(source)[:8, :8])  # outside the mask: the original's pixels


# -- errors ------------------------------------------------------------------------------------------

CHAT = {"model": "default", "messages": HI}
BAD_JSON = [  # (route, body, param): each a 400 naming the field
    ("chat/completions", {**CHAT, "temperature": 9}, "temperature"),
    ("chat/completions", {**CHAT, "top_p": 0}, "top_p"),
    ("chat/completions", {**CHAT, "max_tokens": 100_000}, "max_tokens"),
    ("chat/completions", {**CHAT, "max_completion_tokens": 0}, "max_tokens"),
    ("chat/completions", {**CHAT, "max_tokens": 300, "stream": True}, "max_tokens"),  # past the context: found streaming
    ("chat/completions", {**CHAT, "seed": -5}, "seed"),
    ("chat/completions", {**CHAT, "n": 2}, "n"),
    ("chat/completions", {**CHAT, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ("chat/completions", {**CHAT, "stop": 5}, "stop"),  # not "stop.str": pydantic's union member is no field
    ("chat/completions", {**CHAT, "stop": ["x" * 1_001]}, "stop"),  # the stop scanner's work grows with its square
    ("completions", {"model": "default", "prompt": "a", "stop": "x" * 1_001}, "stop"),
    ("chat/completions", {**CHAT, "temperature": "hot"}, "temperature"),
    ("chat/completions", {**CHAT, "messages": []}, "messages"),
    ("chat/completions", {**CHAT, "messages": "hello"}, "messages"),
    ("chat/completions", {**CHAT, "messages": [{"role": "tool", "content": "x"}]}, "messages[0].role"),
    ("chat/completions", {**CHAT, "messages": [{"role": ["user"], "content": "x"}]}, "messages[0].role"),
    ("chat/completions", {**CHAT, "messages": [{"role": {"name": "user"}, "content": "x"}]}, "messages[0].role"),
    ("chat/completions", {**CHAT, "messages": [{"role": "user", "content": 5}]}, None),
    ("chat/completions", {**CHAT, "messages": [{"role": "user", "content": "x" * 100_000}]}, None),
    ("chat/completions", {**CHAT, "tools": [{"type": "function", "function": {"name": "f"}}]}, "tools"),
    ("chat/completions", {"messages": HI}, "model"),
    ("chat/completions", {"model": "default"}, "messages"),
    ("completions", {"model": "default", "prompt": ["a", "b"]}, "prompt"),
    ("completions", {"model": "default", "prompt": ""}, "prompt"),
    ("completions", {"model": "default", "prompt": [[1, 2]]}, "prompt"),
    ("audio/speech", {"model": "default", "input": "hi", "voice": "alloy"}, "voice"),
    ("audio/speech", {"model": "default", "input": "hi", "voice": {"id": ["en"]}}, "voice"),
    ("audio/speech", {"model": "default", "input": "hi", "voice": 5}, "voice"),
    ("audio/speech", {"model": "default", "input": "hi", "voice": "en", "response_format": "opus"}, "response_format"),
    ("audio/speech", {"model": "default", "input": "hi", "voice": "en", "speed": 50}, "speed"),
    ("audio/speech", {"model": "default", "input": "", "voice": "en"}, "input"),
    ("images/generations", {"prompt": "a fox", "size": "500x512"}, "size"),
    ("images/generations", {"prompt": "a fox", "size": "big"}, "size"),
    ("images/generations", {"prompt": "a fox", "n": 100}, "n"),
    ("images/generations", {"prompt": "a fox", "steps": 0}, "steps"),
    ("images/generations", {"prompt": "a fox", "response_format": "jpeg"}, "response_format"),
    ("images/generations", {"prompt": "a fox", "scheduler": "Euler z"}, "scheduler"),  # "unknown scheduler ...": not "unknown"
]


@pytest.mark.parametrize("route,body,param", BAD_JSON)
def test_a_bad_field_is_a_400_naming_it(http, route, body, param):
    openai_error(http.post(route, json=body), 400, param)


def test_malformed_bodies_are_400s_never_500s(http, spoken):
    openai_error(http.post("chat/completions", content=b"{not json", headers={"Content-Type": "application/json"}), 400)
    openai_error(http.post("chat/completions", content=b'{"model": "default", "messages": [], "temperature": NaN}',
                           headers={"Content-Type": "application/json"}), 400)
    openai_error(http.post("audio/transcriptions", json={"file": "x"}), 400)
    openai_error(http.post("audio/transcriptions", data={"model": "default"}, files={"other": ("a.wav", b"x")}), 400, "file")
    openai_error(http.post("audio/transcriptions", data={"model": "default"}, files={"file": ("a.wav", b"not audio")}), 400)
    picture = io.BytesIO()
    Image.new("RGB", (16, 16)).save(picture, "PNG")
    error = openai_error(http.post("audio/transcriptions", data={"model": "default"},
                                   files={"file": ("a.wav", picture.getvalue())}), 400, "file")
    assert "no audio stream" in error["message"] and "map" not in error["message"], error  # not ffmpeg's own hint
    assert "'a.wav'" in error["message"], error  # the file as the client named it, not a temporary name
    error = openai_error(http.post("audio/transcriptions", data={"model": "default"},
                                   files={"file": ("../../outputs/x\\talk.wav", b"not audio")}), 400, "file")
    assert "'talk.wav'" in error["message"] and "outputs" not in error["message"], error  # no path of the client's
    with open(spoken, "rb") as file:
        openai_error(http.post("audio/transcriptions", data={"model": "default", "response_format": "xml"},
                               files={"file": file}), 400, "response_format")
    with open(spoken, "rb") as file:
        openai_error(http.post("audio/transcriptions", data={"model": "default", "timestamp_granularities[]": "word"},
                               files={"file": file}), 400, "timestamp_granularities")  # words come with verbose_json
    with open(spoken, "rb") as file:
        openai_error(http.post("audio/transcriptions", data={"model": "default", "timestamp_granularities[]": "char"},
                               files={"file": file}), 400, "timestamp_granularities")
    with open(spoken, "rb") as file:  # the choice's message opens "unknown language": the field is language
        openai_error(http.post("audio/transcriptions", data={"model": "default", "language": "xx"}, files={"file": file}),
                     400, "language")
    for content_type, body in [("multipart/form-data", b"x"),
                               ("multipart/form-data; boundary=b", b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--")]:
        error = openai_error(http.post("audio/transcriptions", content=body, headers={"Content-Type": content_type}), 400)
        assert error["code"] == "invalid_multipart" and "Exception" not in error["message"], error  # says what, not a class
    many = {f"field{i}": "x" for i in range(1_001)}
    error = openai_error(http.post("audio/transcriptions", data=many, files={"file": ("a.wav", b"x")}), 400)
    assert "Too many fields" in error["message"] and "Exception" not in error["message"], error
    openai_error(http.post("images/edits", data={"model": "default", "prompt": "x"},
                           files={"image": ("a.png", b"not an image")}), 400)
    openai_error(http.post("images/edits", data={"model": "default", "prompt": "x", "steps": "many"},
                           files={"image": ("a.png", b"x")}), 400, "steps")


@pytest.mark.parametrize("content,content_type", [
    (b'{"model": "default", "messages": [{"role": "user", "content": "\xff\xfe"}]}', "application/json"),  # not UTF-8
    (b"[" * 100_000 + b"]" * 100_000, "application/json"),  # nested past the JSON reader's depth
    (b"", "application/json"),
    (b'[{"model": "default"}]', "application/json"),
    (b'"hello"', "application/json"),
    (json.dumps(CHAT).encode(), "text/plain"),
    (b"model=default", "application/x-www-form-urlencoded"),
])
def test_a_body_that_is_not_one_json_object_is_told_so(http, content, content_type):
    error = openai_error(http.post("chat/completions", content=content, headers={"Content-Type": content_type}), 400)
    assert error["code"] == "invalid_json" and "JSON object" in error["message"] and "UTF-8" in error["message"], error
    assert "None" not in error["message"] and "b'" not in error["message"], error  # no field "None", no echoed bytes


def test_an_unknown_model_or_route_is_a_404(api, http):
    with pytest.raises(openai.NotFoundError) as unknown:
        api.chat.completions.create(model="gpt-4o", messages=HI)
    assert unknown.value.code == "model_not_found" and unknown.value.param == "model"
    for route, body in [("audio/speech", {"model": "tiny:chat", "input": "hi", "voice": "en"}),
                        ("images/generations", {"model": "tiny:chat", "prompt": "a fox"}),
                        ("completions", {"model": "whisper-1", "prompt": "a"})]:
        openai_error(http.post(route, json=body), 404, "model")
    openai_error(http.get("no/such/route"), 404)


def test_the_key_is_required_and_checked(server):
    for headers in [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEY}"}]:
        with httpx.Client(base_url=f"{server.url}v1/", headers=headers, timeout=30) as stranger:
            openai_error(stranger.get("models"), 401)
            openai_error(stranger.post("chat/completions", json=CHAT), 401)
            openai_error(stranger.get("openapi.json"), 401)
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{server.url}v1", api_key="wrong", max_retries=0).models.list()


def test_uploads_over_the_limit_are_a_413(http):
    big = b"RIFF" + bytes(1_200_000)
    openai_error(http.post("audio/transcriptions", data={"model": "default"}, files={"file": ("big.wav", big)}), 413)
    openai_error(http.post("images/edits", data={"model": "default", "prompt": "x"}, files={"image": ("big.png", big)}), 413)


def test_a_json_body_over_the_limit_is_a_413_declared_or_chunked(server, http):
    """FastAPI reads a JSON body whole: past --max-file-size (1 MB here) it is refused, however it is sent."""
    huge = json.dumps({"model": "default", "messages": [{"role": "user", "content": "x" * 1_200_000}]}).encode()
    declared = http.post("chat/completions", content=huge, headers={"Content-Type": "application/json"})
    assert openai_error(declared, 413)["code"] == "request_too_large"

    def chunks():
        for start in range(0, len(huge), 64 * 1024):
            yield huge[start:start + 64 * 1024]

    chunked = http.post("chat/completions", content=chunks(), headers={"Content-Type": "application/json"})
    assert "content-length" not in chunked.request.headers
    assert openai_error(chunked, 413)["code"] == "request_too_large"
    assert http.post("chat/completions", json={**CHAT, "max_tokens": 2}).status_code == 200  # and it serves on
    # gradio's own routes too: its queue reads a JSON body whole
    for content in (huge, chunks()):
        answer = httpx.post(f"{server.url}gradio_api/queue/join", content=content,
                            headers={"Content-Type": "application/json"}, timeout=60)
        assert answer.status_code == 413, answer.text
        assert "--max-file-size" in answer.text and "Traceback" not in answer.text
    assert httpx.get(server.url, timeout=60).status_code == 200


def test_a_full_queue_answers_503_at_once_and_serves_on(http):
    """Queue size 2: with one image running and two waiting, the others are refused, not kept waiting."""
    body = {"prompt": "a red fox", "size": "256x256", "response_format": "b64_json", "steps": 12}
    start = threading.Barrier(8)

    def ask(n):
        start.wait()
        return http.post("images/generations", json={**body, "seed": n})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(8)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(200) >= 3 and statuses.count(503) >= 1 and set(statuses) == {200, 503}, statuses
    for answer in answers:
        if answer.status_code == 503:
            assert openai_error(answer, 503)["code"] == "queue_full" and answer.headers["retry-after"]
    assert http.get("models").status_code == 200


# -- access without a server: a login closes the API unless a key is set -------------------------------

def test_a_login_without_a_key_closes_the_api(studio):
    from fastapi.testclient import TestClient

    from studio.serving.openai_api import build_api
    from studio.serving.openai_api.auth import Access

    with TestClient(build_api(studio, access=Access(key=None, login=True))) as closed:
        error = openai_error(closed.get("/models"), 401)
        assert "STUDIO_API_KEY" in error["message"]
        openai_error(closed.get("/models", headers={"Authorization": "Bearer anything"}), 401)
        openai_error(closed.get("/openapi.json"), 401)  # the schema too: nothing of the API without the key
    with TestClient(build_api(studio, access=Access(key=KEY, login=True))) as keyed:
        openai_error(keyed.get("/models"), 401)
        assert keyed.get("/models", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
        assert "/chat/completions" in keyed.get("/openapi.json", headers={"Authorization": f"Bearer {KEY}"}).json()["paths"]
    with TestClient(build_api(studio, access=Access())) as local:
        assert local.get("/models").status_code == 200


def test_an_upload_the_client_leaves_mid_way_is_a_400_not_a_logged_failure():
    import anyio
    from fastapi import Request

    from studio.serving.openai_api import uploads
    from studio.serving.openai_api.errors import ApiError

    messages = iter([{"type": "http.request", "body": b"--b\r\nContent-Disposition", "more_body": True},
                     {"type": "http.disconnect"}])

    async def receive():
        return next(messages)

    scope = {"type": "http", "method": "POST", "path": "/audio/transcriptions", "query_string": b"",
             "headers": [(b"content-type", b"multipart/form-data; boundary=b"), (b"content-length", b"500000")]}
    with pytest.raises(ApiError) as cut:
        anyio.run(uploads.read_form, Request(scope, receive), 1_000_000)
    assert cut.value.status == 400 and cut.value.code == "upload_cut"


def test_access_is_read_from_the_environment(monkeypatch):
    from studio.serving.openai_api.auth import Access

    monkeypatch.setenv("STUDIO_USERNAME", "me")
    monkeypatch.setenv("STUDIO_PASSWORD", "pw")
    monkeypatch.delenv("STUDIO_API_KEY", raising=False)
    assert Access.from_env().closed
    monkeypatch.setenv("STUDIO_API_KEY", KEY)
    assert Access.from_env() == Access(key=KEY, login=True) and not Access.from_env().closed


# -- the device queue --------------------------------------------------------------------------------

def test_the_device_queue_serves_in_arrival_order_and_refuses_past_its_size():
    queue, order = DeviceQueue(1, max_waiting=2), []
    queue.acquire()
    threads = []
    for n in range(2):
        def wait(n=n):
            with queue.turn():
                order.append(n)
        threads.append(threading.Thread(target=wait))
        threads[-1].start()
        while queue.waiting < n + 1:
            time.sleep(0.01)
    with pytest.raises(QueueFull, match="queue is full"):
        queue.acquire()
    queue.release()
    for thread in threads:
        thread.join(10)
    assert order == [0, 1] and queue.running == 0 and queue.waiting == 0
    with pytest.raises(ValueError, match="concurrency"):
        DeviceQueue(0)


def test_a_queued_stream_holds_its_turn_until_closed_from_any_thread(studio):
    queue = DeviceQueue(1, max_waiting=0)
    shared = Queued(studio, queue)
    stream = shared.stream_chat(HI, seed=1, max_new_tokens=20)
    assert queue.running == 0  # nothing taken before the first piece
    next(stream)
    assert queue.running == 1
    with pytest.raises(QueueFull):
        shared.next_token("Il était", top_k=2)
    worker = threading.Thread(target=stream.close)
    worker.start()
    worker.join(30)
    assert queue.running == 0
    assert shared.next_token("Il était", top_k=2)
    assert shared.preset is studio.preset and shared.outputs == studio.outputs  # the rest passes through


def test_ui_clicks_and_rest_calls_at_once_never_run_two_models_together(tmp_path):
    """One in-process server, concurrency 1: the UI's gradio queue and REST calls overlap; the models' use never does."""
    from gradio_client import Client

    from studio.serving.serve import launch

    studio = Studio(preset="tiny", outputs=tmp_path / "outputs")
    active, most, lock = [0], [0], threading.Lock()
    use = studio.models.use

    def watched(*args, **kwargs):
        manager = use(*args, **kwargs)

        class Watch:
            def __enter__(self):
                value = manager.__enter__()
                with lock:
                    active[0] += 1
                    most[0] = max(most[0], active[0])
                time.sleep(0.05)  # widen the window two runs would share
                return value

            def __exit__(self, *exc):
                with lock:
                    active[0] -= 1
                return manager.__exit__(*exc)

        return Watch()

    studio.models.use = watched
    port = free_port()
    app = launch(studio, port=port, concurrency=1, queue_size=32, block=False)
    try:
        url = f"http://127.0.0.1:{port}/"
        ui = Client(url, verbose=False)
        api = openai.OpenAI(base_url=f"{url}v1", api_key="none", max_retries=0, timeout=300)
        spans = {}

        def timed(name, call):
            begin = time.monotonic()
            call()
            spans[name] = (begin, time.monotonic())

        jobs = [
            ("ui image", lambda: ui.predict(prompt="a fox", seed=1, api_name="/text_to_image")),
            ("ui chat", lambda: ui.predict(message="Bonjour", seed=2, api_name="/chat")),
            ("ui speech", lambda: ui.predict(text="Bonjour", seed=3, api_name="/text_to_speech")),
            ("rest chat", lambda: api.chat.completions.create(model="default", messages=HI, seed=4)),
            ("rest stream", lambda: list(api.chat.completions.create(model="default", messages=HI, seed=5, stream=True))),
            ("rest image", lambda: api.images.generate(model="default", prompt="a fox", extra_body={"seed": 6, "steps": 8})),
            ("rest speech", lambda: api.audio.speech.create(model="default", voice="en", input="Hello", response_format="wav")),
        ]
        start = threading.Barrier(len(jobs))
        with ThreadPoolExecutor(len(jobs)) as pool:
            for future in [pool.submit(lambda job=job: (start.wait(), timed(*job))) for job in jobs]:
                future.result()
    finally:
        app.close()
    ui_spans = [spans[name] for name in spans if name.startswith("ui")]
    rest_spans = [spans[name] for name in spans if name.startswith("rest")]
    assert any(a < d and c < b for a, b in ui_spans for c, d in rest_spans)  # they were in flight together
    assert most[0] == 1, f"{most[0]} models ran at once"


def test_every_route_is_documented():
    """Each route is in the README with a curl and an openai client example."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("## OpenAI-compatible API"):]
    for route in ["/v1/models", "/v1/chat/completions", "/v1/completions", "/v1/audio/speech",
                  "/v1/audio/transcriptions", "/v1/audio/translations", "/v1/images/generations", "/v1/images/edits"]:
        assert route in section, route
    assert section.count("curl ") >= 8 and "OpenAI(base_url=" in section and "Open WebUI" in section
    json.dumps(section)  # plain text


# -- MCP tools ---------------------------------------------------------------------------------------

def test_an_mcp_client_lists_the_operations_with_their_docstrings(server):
    import anyio
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async def tools():
        async with streamablehttp_client(f"{server.url}gradio_api/mcp/") as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return {tool.name: tool.description for tool in (await session.list_tools()).tools}

    listed = anyio.run(tools)
    for name in ("chat", "text_to_image", "image_to_image", "text_to_speech", "speech_to_text", "text_to_music"):
        assert listed[name].startswith(inspect.getdoc(getattr(Studio, name))), name
    assert "translate_speech" not in listed and inspect.getdoc(Studio.translate_speech) in listed["audio_to_audio"]


def test_mcp_is_off_with_a_login_or_when_asked(capsys):
    from studio.serving import mcp

    assert mcp.wanted(True, login=False)
    assert not mcp.wanted(False, login=False)
    assert not mcp.wanted(True, login=True) and "login" in capsys.readouterr().out


def test_a_library_model_is_listed_and_passed_as_model(studio):
    """Names from the model library (beyond the preset's) are served and reach the Studio as `model=`."""
    from fastapi.testclient import TestClient

    from pipelines.results import TextResult
    from studio.serving.openai_api import build_api
    from studio.serving.openai_api.auth import Access

    class Library:
        preset, outputs, calls = studio.preset, studio.outputs, []

        def list_models(self, task):
            return [{"name": "my-chat", "task": "text"}] if task == "text" else []

        def chat(self, messages, **settings):
            self.calls.append(settings)
            return TextResult("ok", {"tokens": 1, "prompt_tokens": 2, "finish_reason": "end", "seed": 1})

        def save(self, result):
            return []

    library = Library()
    with TestClient(build_api(library, access=Access())) as local:
        cards = local.get("/models").json()["data"]
        assert [c["id"] for c in cards if "chat" in c["tasks"]] == ["tiny:chat", "my-chat"]
        for name, given in [("my-chat", "my-chat"), ("default", None), ("tiny:chat", None)]:
            reply = local.post("/chat/completions", json={"model": name, "messages": HI}).json()
            assert reply["choices"][0]["message"]["content"] == "ok" and reply["model"] == ("my-chat" if given else "tiny:chat")
            assert library.calls[-1].get("model") == given
