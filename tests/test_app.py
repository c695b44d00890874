"""The app as a user runs it: `python app.py` on the tiny preset, driven through gradio_client.

Every endpoint is called and its result checked; field errors reach the client
naming the field; startup and generation connect to nothing beyond loopback.
"""

import numpy as np
import pytest
import soundfile as sf
from gradio_client import handle_file
from PIL import Image

from studio import Studio

ENDPOINTS = ["chat", "text_to_text", "next_token", "text_to_image", "image_to_image", "inpaint", "outpaint", "upscale",
             "text_to_speech",
             "speech_to_text", "text_to_music", "audio_to_audio"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("files")
    Image.new("RGB", (64, 64), (200, 120, 40)).save(folder / "in.png")
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(22050 * 2) / 22050)).astype(np.float32)
    sf.write(folder / "in.wav", np.stack([tone, tone], axis=1), 22050)
    return folder


def test_every_operation_has_its_endpoint_with_python_keyword_parameters(client):
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {f"/{name}" for name in ENDPOINTS} <= set(api)
    names = {p["parameter_name"] for p in api["/text_to_image"]["parameters"]}
    assert {"prompt", "negative_prompt", "steps", "guidance", "width", "height", "seed", "batch_size"} <= names
    for name in ENDPOINTS:  # all but the main input have a default (inpaint's are the image and its mask)
        required = [p["parameter_name"] for p in api[f"/{name}"]["parameters"] if not p["parameter_has_default"]]
        assert len(required) <= (2 if name == "inpaint" else 1), (name, required)


def test_text_to_image_and_image_to_image(client, server):
    gallery, _, recipe = client.predict(prompt="a red fox", seed=1, api_name="/text_to_image")
    assert recipe["seed"] == 1 and recipe["task"] == "text_to_image"
    saved = Studio.read_recipe(gallery[0]["image"])
    assert saved["seed"] == 1 and saved["prompt"] == "a red fox"
    assert list(server.outputs.rglob("*text_to_image-1-a-red-fox.png"))
    gallery, _, recipe = client.predict(image=handle_file(gallery[0]["image"]), prompt="a watercolor fox", seed=2,
                                        api_name="/image_to_image")
    assert recipe["task"] == "image_to_image" and Image.open(gallery[0]["image"]).size == (64, 64)


def test_inpaint_paints_a_mask_and_outpaint_extends(client, files):
    layer = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    layer.paste((255, 255, 255, 255), (16, 16, 48, 48))
    layer.save(files / "layer.png")
    painted = {"background": handle_file(str(files / "in.png")), "layers": [handle_file(str(files / "layer.png"))],
               "composite": None}
    gallery, _, recipe, mask = client.predict(image=painted, mask=None, prompt="a fox", seed=1, steps=2, mask_blur=0,
                                              api_name="/inpaint")
    assert recipe["task"] == "inpaint" and len(gallery) == 1
    out, source = np.asarray(Image.open(gallery[0]["image"])), np.asarray(Image.open(files / "in.png"))
    assert np.array_equal(out[:16], source[:16]) and np.asarray(Image.open(mask))[20, 20] == 255
    gallery, _, recipe, _ = client.predict(image=handle_file(str(files / "in.png")), prompt="a fox", left=16, seed=1,
                                           steps=2, api_name="/outpaint")
    assert recipe["task"] == "outpaint" and Image.open(gallery[0]["image"]).size == (80, 64)


def test_upscale(client, files):
    path, recipe = client.predict(image=handle_file(str(files / "in.png")), api_name="/upscale")
    assert Image.open(path).size == (128, 128) and recipe["scale"] == 2


def test_chat_text_to_text_and_next_token(client):
    *_, conversation, recipe, saved = client.predict(message="Bonjour", seed=7, api_name="/chat")
    assert conversation[-1]["role"] == "assistant" and recipe["seed"] == 7
    again = client.predict(message="Bonjour", seed=7, api_name="/chat")
    assert again[1][-1]["content"] == conversation[-1]["content"]
    text, recipe = client.predict(text="Le renard court dans la neige.", mode="summarize", seed=1, api_name="/text_to_text")
    assert isinstance(text, str) and recipe["mode"] == "summarize"
    table = client.predict(text="Je suis allé voir Emilie. C'est une", api_name="/next_token")
    confidences = [row["confidence"] for row in table["confidences"]]
    assert confidences == sorted(confidences, reverse=True) and 0 < sum(confidences) <= 1.0001


def test_speech_music_and_audio_to_audio(client, files):
    speech, recipe = client.predict(text="Bonjour à tous", language="fr", seed=1, api_name="/text_to_speech")
    audio, rate = sf.read(speech)
    assert len(audio) > 0 and recipe["language"] == "fr" and Studio.read_recipe(speech)["text"] == "Bonjour à tous"
    text, _, saved, recipe = client.predict(audio=handle_file(str(files / "in.wav")), api_name="/speech_to_text")
    assert recipe["task"] == "speech_to_text" and any(p.endswith(".srt") for p in saved)
    music, recipe = client.predict(prompt="calm piano", duration=2, seed=1, api_name="/text_to_music")
    assert 1.5 <= sf.info(music).duration <= 2.6
    continued, _, recipe = client.predict(audio=handle_file(music), mode="continue", prompt="add drums", duration=1,
                                          api_name="/audio_to_audio")
    assert recipe["task"] == "continue_music" and sf.info(continued).duration > 0


@pytest.mark.parametrize(
    "kwargs, api, field",
    [
        (dict(prompt="a fox", width=500), "/text_to_image", "width"),
        (dict(prompt=""), "/text_to_image", "prompt"),
        (dict(text="hello", language="xx"), "/text_to_speech", "language"),
        (dict(prompt="piano", duration=-1), "/text_to_music", "duration"),
        (dict(message=""), "/chat", "message"),
    ],
)
def test_field_errors_reach_the_client_naming_the_field(client, kwargs, api, field):
    with pytest.raises(Exception, match=field):
        client.predict(**kwargs, api_name=api)


def test_the_server_made_no_connection_beyond_loopback(client, server):
    client.predict(prompt="a fox", seed=3, api_name="/text_to_image")  # one more generation, at the end
    assert server.connections() == []
    assert "Traceback" not in server.log.read_text()


def test_every_label_on_screen_has_its_english_and_french_text():
    """A label key without a text shows as the raw key: each one the app uses is in the tables."""
    from gradio.i18n import I18nData

    from studio.ui import build_app, labels

    app = build_app(Studio(preset="tiny"))
    tables = labels().translations_dict
    used = {value.key for block in app.blocks.values() for attr in ("label", "info", "placeholder", "value")
            if isinstance(value := getattr(block, attr, None), I18nData)}
    assert len(used) > 100  # every tab's inputs are labelled through the tables
    for language in ("en", "fr"):
        assert used <= set(tables[language]), sorted(used - set(tables[language]))
        assert all(tables[language][key].strip() for key in used)
