"""Speech in the voice of a recording: the tiny CSM through the studio, its reference checks and its recipe."""

import hashlib

import numpy as np
import pytest
import soundfile as sf

from studio import Studio

RATE = 16_000


def _recording(seconds: float, seed: int = 0) -> tuple[int, np.ndarray]:
    """A voiced-sounding signal: a wobbling tone with a noisy envelope."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    tone = np.sin(2 * np.pi * (140 + 30 * seed) * t + 3 * np.sin(2 * np.pi * 3 * t))
    return RATE, (0.3 * tone * rng.uniform(0.4, 1.0, t.size)).astype(np.float32)


def test_the_same_recording_and_seed_repeat_and_another_recording_differs(studio):
    first = studio.text_to_speech("Hello there.", voice=_recording(6), reference_text="this is my voice", seed=4)
    again = studio.text_to_speech("Hello there.", voice=_recording(6), reference_text="this is my voice", seed=4)
    other = studio.text_to_speech("Hello there.", voice=_recording(6, seed=1), reference_text="this is my voice", seed=4)
    assert np.array_equal(first.audio, again.audio)
    assert first.audio.dtype == np.float32 and first.audio.ndim == 1 and first.sampling_rate == 24_000
    assert first.params["voice_sha256"] != other.params["voice_sha256"]
    assert not np.array_equal(first.audio[: len(other.audio)], other.audio[: len(first.audio)])


def test_the_recipe_names_the_recording_by_a_hash_of_its_samples(studio, tmp_path):
    rate, samples = _recording(5.5)
    path = tmp_path / "me.wav"
    sf.write(path, samples, rate, subtype="FLOAT")  # float samples, so the file holds exactly these
    spoken = studio.text_to_speech("Hi.", voice=str(path), reference_text="my own words", seed=1)
    params = spoken.params
    assert params["voice"] == "recording" and params["model"] == "tiny:csm" and params["task"] == "text_to_speech"
    assert params["voice_sha256"] == hashlib.sha256(samples.astype("<f4").tobytes()).hexdigest()
    assert params["reference_text"] == "my own words" and params["reference_text_from"] == "given"
    assert params["reference_seconds"] == 5.5
    assert all(not isinstance(value, (list, np.ndarray)) for value in params.values())  # no audio in the recipe
    assert str(tmp_path) not in str(params)
    by_tuple = studio.text_to_speech("Hi.", voice=(rate, samples), reference_text="my own words", seed=1)
    assert by_tuple.params["voice_sha256"] == params["voice_sha256"]
    [saved] = studio.save(spoken)
    assert Studio.read_recipe(saved)["voice_sha256"] == params["voice_sha256"]


def test_without_reference_text_whisper_transcribes_the_recording(studio):
    spoken = studio.text_to_speech("Hello.", voice=_recording(5), seed=2)
    heard = studio.speech_to_text(_recording(5))
    assert spoken.params["reference_text"] == heard.text and heard.text
    assert spoken.params["reference_text_from"] == "whisper" and spoken.params["transcribe_model"] == "tiny:whisper"


@pytest.mark.parametrize(
    "voice, kwargs, message",
    [
        (_recording(4), {}, r"voice recording is 4\.0 s long; a voice to clone must last 5 to 30 s"),
        (_recording(31), {}, r"voice recording is 31\.0 s long; a voice to clone must last 5 to 30 s"),
        ((RATE, np.zeros(RATE * 6, dtype=np.float32)), {}, r"voice recording is silent"),
        (_recording(6), {"speaking_rate": 1.5}, r"speaking_rate is not available with a voice cloned from a recording"),
        (_recording(6), {"reference_text": "\x01"}, r"reference_text contains control characters"),
        ("missing.wav", {}, r"voice file 'missing\.wav' does not exist"),
        ("en", {"reference_text": "words"}, r"reference_text is the words of a recording to clone"),
    ],
)
def test_bad_references_are_refused_naming_the_field(studio, voice, kwargs, message):
    with pytest.raises(ValueError, match=message):
        studio.text_to_speech("Hello.", voice=voice, **{"reference_text": "some words", **kwargs})


def test_a_preset_without_a_clone_model_says_how_to_add_one(tmp_path):
    preset = tmp_path / "voices.toml"
    preset.write_text('[speech.voices]\nen = "tiny:tts"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r'voice: preset .* has no model to clone a voice with; add \[speech\] clone = '):
        Studio(preset=str(preset), outputs=tmp_path).text_to_speech("Hi.", voice=_recording(6), reference_text="words")


def test_a_batch_job_clones_a_recording_beside_the_jobs_file(tmp_path):
    import json

    from studio.serving import batch

    rate, samples = _recording(6)
    sf.write(tmp_path / "me.wav", samples, rate)
    jobs = tmp_path / "jobs.jsonl"
    lines = [{"task": "text_to_speech", "text": "Hi.", "voice": "me.wav", "reference_text": "words", "seed": 1},
             {"task": "text_to_speech", "text": "Hi.", "voice": "en", "seed": 1}]
    jobs.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    cloned, named = batch.parse_jobs(jobs, Studio)
    assert cloned.kwargs["voice"] == str(tmp_path / "me.wav") and named.kwargs["voice"] == "en"


def test_translate_speech_keeps_the_speakers_voice_cloned_from_its_first_30_s(studio):
    rate, samples = _recording(40, seed=2)
    spoken = studio.translate_speech((rate, samples), language="en", keep_voice=True, seed=3)
    params = spoken.params
    assert params["task"] == "translate_speech" and params["keep_voice"] is True and params["model"] == "tiny:csm"
    assert params["reference_seconds"] == 30.0 and params["reference_text_from"] == "whisper"
    assert params["voice_sha256"] == hashlib.sha256(samples[: 30 * rate].astype("<f4").tobytes()).hexdigest()
    assert params["transcript"] and params["text"] and spoken.sampling_rate == 24_000
    plain = studio.translate_speech((rate, samples), language="en", seed=3)
    assert "voice_sha256" not in plain.params and plain.params["model"] == "tiny:tts"


@pytest.mark.parametrize(
    "audio, kwargs, message",
    [
        (_recording(3), {}, r"keep_voice needs at least 5 s of speech to clone the voice from; audio is 3\.0 s long"),
        (_recording(6), {"speaking_rate": 2.0}, r"speaking_rate is not available with keep_voice"),
        (_recording(6), {"keep_voice": "yes"}, r"keep_voice must be true or false, got 'yes'"),
    ],
)
def test_keep_voice_refuses_what_it_cannot_clone(studio, audio, kwargs, message):
    with pytest.raises(ValueError, match=message):
        studio.translate_speech(audio, language="en", **{"keep_voice": True, **kwargs})


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


def test_the_endpoints_take_a_voice_a_recording_and_keep_voice(client, tmp_path):
    from gradio_client import handle_file

    _, recipe = client.predict(text="Hello.", voice="tiny:tts_speakers#1", seed=1, api_name="/text_to_speech")
    assert recipe["voice"] == "tiny:tts_speakers#1" and recipe["speaker"] == 1
    rate, samples = _recording(6)
    sf.write(tmp_path / "me.wav", samples, rate)
    path, recipe = client.predict(text="Hello.", voice_recording=handle_file(tmp_path / "me.wav"),
                                  reference_text="my words", seed=1, api_name="/text_to_speech")
    assert recipe["voice"] == "recording" and recipe["reference_text"] == "my words" and sf.info(path).samplerate == 24_000
    assert "me.wav" not in json_text(recipe) and str(tmp_path) not in json_text(recipe)
    _, heard, recipe = client.predict(audio=handle_file(tmp_path / "me.wav"), mode="translate", language="en",
                                      keep_voice=True, seed=1, api_name="/audio_to_audio")
    assert recipe["keep_voice"] is True and recipe["model"] == "tiny:csm" and recipe["transcript"] in heard


def json_text(recipe: dict) -> str:
    import json

    return json.dumps(recipe)


def test_equals_raw_transformers_csm_prompted_with_the_reference_turn(studio):
    import torch
    from transformers import AutoProcessor, CsmForConditionalGeneration

    from pipelines.audio_io import load_audio

    rate, samples = _recording(6)
    result = studio.text_to_speech("Hello there.", voice=(rate, samples), reference_text="this is my voice", seed=9)
    folder = studio.model_ref("speech", result.params["model"])
    processor = AutoProcessor.from_pretrained(folder)
    model = CsmForConditionalGeneration.from_pretrained(folder, use_safetensors=True).eval()
    conversation = [
        {"role": "0", "content": [{"type": "text", "text": "this is my voice"}, {"type": "audio"}]},
        {"role": "0", "content": [{"type": "text", "text": "Hello there."}]},
    ]
    prompt = processor.apply_chat_template(conversation, tokenize=False)
    assert prompt.count("[0]") == 2 and prompt.index("this is my voice") < prompt.index("Hello there.")
    reference, _ = load_audio((rate, samples), 24_000)
    inputs = processor(text=prompt, audio=[reference], return_tensors="pt")
    torch.manual_seed(9)
    with torch.no_grad():
        [raw] = model.generate(**inputs, output_audio=True, do_sample=True, depth_decoder_do_sample=True,
                               max_new_tokens=len(result.audio) // 1920)
    assert np.array_equal(raw.numpy(), result.audio)


def test_the_cli_clones_a_recording_given_as_voice(tmp_path, capsys):
    from studio.serving import cli

    rate, samples = _recording(6)
    sf.write(tmp_path / "me.wav", samples, rate, subtype="FLOAT")
    cli.main(["text-to-speech", "Bonjour à tous.", "--preset", "tiny", "--voice", str(tmp_path / "me.wav"),
              "--reference-text", "my words", "--seed", "2", "--out", str(tmp_path / "out")])
    [saved] = [line for line in capsys.readouterr().out.splitlines() if line.endswith(".wav")]
    recipe = Studio.read_recipe(saved)
    assert recipe["voice"] == "recording" and recipe["reference_text"] == "my words"
    assert recipe["voice_sha256"] == hashlib.sha256(samples.astype("<f4").tobytes()).hexdigest()
