"""Text-to-speech on the tiny VITS voice, and audio files carrying their recipe."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image

from pipelines.speech import MAX_PIECE_CHARS, split_text
from studio import AudioResult, ImageResult, Studio

HAS_MP3 = "MP3" in sf.available_formats() or shutil.which("ffmpeg") is not None


def test_same_seed_same_speech_other_seed_other_speech(studio):
    first = studio.text_to_speech("Hello world.", language="en", seed=7)
    again = studio.text_to_speech("Hello world.", language="en", seed=7)
    other = studio.text_to_speech("Hello world.", language="en", seed=8)
    assert np.array_equal(first.audio, again.audio)
    assert not np.array_equal(first.audio, other.audio)
    assert first.audio.dtype == np.float32 and first.audio.ndim == 1 and first.sampling_rate == 16_000
    assert first.duration > 0.1


def test_equals_raw_transformers_on_the_same_folder(studio):
    from transformers import VitsModel, VitsTokenizer

    result = studio.text_to_speech("Bonjour à tous.", language="fr", seed=3)
    folder = studio.model_ref("speech", result.params["model"])
    tokenizer = VitsTokenizer.from_pretrained(folder)
    model = VitsModel.from_pretrained(folder, dtype=getattr(torch, result.params["dtype"]), use_safetensors=True).eval()
    torch.manual_seed(3)
    with torch.no_grad():
        raw = model(**tokenizer("Bonjour à tous.", return_tensors="pt")).waveform[0].numpy()
    assert np.array_equal(raw, result.audio)


def test_english_and_french_recipes(studio):
    for language, text in [("en", "Good morning, everyone."), ("fr", "Bonjour, ça va très bien !")]:
        result = studio.text_to_speech(text, language=language, seed=1)
        params = result.params
        assert params["task"] == "text_to_speech" and params["language"] == language and params["text"] == text
        for key in ("model", "seed", "speaking_rate", "pause", "preset", "device"):
            assert key in params
    assert studio.text_to_speech("Hi.").params["language"] == "en"  # the preset's first voice


def test_long_text_is_read_sentence_by_sentence_with_pauses(studio):
    result = studio.text_to_speech("One. Two! Three?", language="en", seed=1, pause=0.5)
    assert result.params["sentences"] == 3
    silent = np.flatnonzero(result.audio != 0)
    gaps = np.diff(silent) - 1
    assert (gaps >= 8_000).sum() == 2  # two pauses of 0.5 s at 16 kHz


def test_speaking_rate_changes_the_length(studio):
    normal = studio.text_to_speech("A sentence of some length to read.", seed=2)
    fast = studio.text_to_speech("A sentence of some length to read.", seed=2, speaking_rate=2.0)
    assert len(fast.audio) < 0.75 * len(normal.audio)


def test_unreadable_characters_are_reported(studio):
    result = studio.text_to_speech("Hello 🙂 world", seed=1)
    assert "🙂" in result.params["notices"][0]


def test_split_text_cuts_at_sentences_then_commas_then_spaces():
    assert split_text("First one. Second one!\nThird") == ["First one.", "Second one!", "Third"]
    long = ", ".join(["a clause of several words"] * 30) + "."
    pieces = split_text(long)
    assert len(pieces) > 1 and all(len(p) <= MAX_PIECE_CHARS for p in pieces)
    assert " ".join(pieces) == long
    assert split_text("x" * 600) == ["x" * 250, "x" * 250, "x" * 100]


@pytest.mark.parametrize(
    "text, kwargs, message",
    [
        ("", {}, "text is empty"),
        ("   ", {}, "text is empty"),
        ("🙂🙂", {}, "no character this voice can read"),
        ("hello", {"language": "de"}, "unknown language 'de'; choose one of: en, fr"),
        ("hello", {"speaking_rate": 0}, "speaking_rate"),
        ("hello", {"pause": -1}, "pause"),
        ("hello", {"seed": -5}, "seed"),
        ("x" * 5001, {}, "text is 5001 characters long"),
    ],
)
def test_bad_input_raises_value_error(studio, text, kwargs, message):
    with pytest.raises(ValueError, match=message):
        studio.text_to_speech(text, **kwargs)


@pytest.mark.parametrize(
    "format",
    ["wav", "flac", pytest.param("mp3", marks=pytest.mark.skipif(not HAS_MP3, reason="neither libsndfile MP3 nor ffmpeg"))],
)
def test_recipe_round_trips_through_audio_files(studio, format):
    spoken = studio.text_to_speech("Une phrase, avec des accents : é, è, à, ç.", language="fr", seed=4)
    long_text = "Une phrase assez longue, avec des accents : é, è, à, ç. " * 60  # a recipe over 2 KB
    result = AudioResult(spoken.audio, spoken.sampling_rate, {**spoken.params, "text": long_text})
    [path] = studio.save(result, format=format)
    assert path.suffix == f".{format}"
    recipe = Studio.read_recipe(path)
    assert {k: v for k, v in recipe.items() if k != "studio_version"} == result.params
    samples, rate = sf.read(path, dtype="float32")
    assert rate == 16_000 and abs(len(samples) - len(result.audio)) < 2_000


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe is not installed")
def test_other_tools_see_the_wav_comment(studio):
    [path] = studio.save(studio.text_to_speech("Hello.", seed=1))
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format_tags=comment", "-of", "csv=p=0", str(path)],
                           capture_output=True, text=True, check=True)
    assert '"task": "text_to_speech"' in probe.stdout.replace('""', '"')


def test_mp3_falls_back_to_ffmpeg(studio, monkeypatch, tmp_path):
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    from studio import outputs
    from studio.outputs import audio as save_audio

    monkeypatch.setattr(save_audio.sf, "available_formats", lambda: {"WAV": "", "FLAC": ""})
    result = AudioResult(np.zeros(16_000, dtype=np.float32), 16_000, {"task": "text_to_speech", "seed": 1, "text": "é"})
    [path] = outputs.save(result, tmp_path, format="mp3")
    monkeypatch.undo()
    assert Studio.read_recipe(path)["text"] == "é"


def test_stereo_audio_saves_two_channels(studio):
    stereo = AudioResult(np.zeros((8_000, 2), dtype=np.float32), 16_000, {"task": "text_to_music", "seed": 1})
    for format in ("wav", "flac"):
        [path] = studio.save(stereo, format=format)
        assert sf.info(path).channels == 2


def test_bad_formats_are_refused(studio):
    result = studio.text_to_speech("Hello.", seed=1)
    with pytest.raises(ValueError, match="unknown format 'ogg'; choose one of: wav, flac, mp3"):
        studio.save(result, format="ogg")
    image = ImageResult([Image.new("RGB", (64, 64))], [1], {"task": "text_to_image", "seed": 1, "prompt": "a fox"})
    with pytest.raises(ValueError, match="without format"):
        studio.save(image, format="flac")


@pytest.fixture(scope="module")
def client(studio):
    import socket

    from gradio_client import Client

    from studio.serving.serve import launch

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = launch(studio, port=port, block=False)
    try:
        yield Client(f"http://127.0.0.1:{port}/", verbose=False)
    finally:
        app.close()


def test_audio_endpoints_take_the_python_keywords(client, studio, tmp_path):
    from gradio_client import handle_file

    path, recipe = client.predict(text="Bonjour.", language="fr", seed=3, format="flac", api_name="/text_to_speech")
    assert path.endswith(".flac") and recipe["language"] == "fr"
    direct = studio.text_to_speech("Bonjour.", language="fr", seed=3)
    assert np.allclose(sf.read(path, dtype="float32")[0], direct.audio, atol=1 / 32_768)  # 16-bit FLAC
    wave = tmp_path / "talk.wav"
    sf.write(wave, np.random.default_rng(0).uniform(-0.2, 0.2, (44_100, 2)), 44_100)
    text, segments, files, recipe = client.predict(audio=handle_file(wave), task="transcribe", api_name="/speech_to_text")
    assert text and [Path(f).suffix for f in files] == [".json", ".srt", ".vtt", ".txt"] and segments["data"]
    path, recipe = client.predict(prompt="calm piano", duration=1, seed=1, api_name="/text_to_music")
    assert recipe["duration"] == 1.0 and sf.info(path).duration == pytest.approx(1.0, abs=0.02)
    path, heard, recipe = client.predict(audio=handle_file(wave), mode="continue", prompt="drums", duration=1, seed=1,
                                         api_name="/audio_to_audio")
    assert recipe["task"] == "continue_music" and heard == ""
    path, heard, recipe = client.predict(audio=handle_file(wave), mode="translate", language="en", seed=1,
                                         api_name="/audio_to_audio")
    assert recipe["task"] == "translate_speech" and recipe["transcript"] in heard
    with pytest.raises(Exception, match="text is empty"):
        client.predict(text=" ", api_name="/text_to_speech")
