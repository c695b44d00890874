"""Choosing a voice: the preset's voices by language or model, and the speakers of a multi-speaker VITS."""

import json

import numpy as np
import pytest

from studio.serving import batch, cli

SPEAKERS = "tiny:tts_speakers"


def test_two_speakers_differ_and_a_speaker_with_its_seed_repeats(studio):
    first = studio.text_to_speech("Hello world.", voice=f"{SPEAKERS}#1", seed=5)
    again = studio.text_to_speech("Hello world.", voice=f"{SPEAKERS}#1", seed=5)
    other = studio.text_to_speech("Hello world.", voice=f"{SPEAKERS}#2", seed=5)
    assert np.array_equal(first.audio, again.audio)
    assert not np.array_equal(first.audio[: len(other.audio)], other.audio[: len(first.audio)])
    assert first.params["voice"] == f"{SPEAKERS}#1" and first.params["speaker"] == 1
    assert other.params["voice"] == f"{SPEAKERS}#2" and other.params["model"] == SPEAKERS


def test_a_speaker_by_index_is_the_same_voice_as_by_name(studio):
    by_name = studio.text_to_speech("Hello.", voice=f"{SPEAKERS}#3", seed=2)
    by_index = studio.text_to_speech("Hello.", voice=3, model=SPEAKERS, seed=2)
    by_text = studio.text_to_speech("Hello.", voice="3", model=SPEAKERS, seed=2)
    assert np.array_equal(by_name.audio, by_index.audio) and np.array_equal(by_name.audio, by_text.audio)
    assert by_index.params["voice"] == f"{SPEAKERS}#3"


def test_a_multi_speaker_model_named_alone_speaks_with_its_first_speaker(studio):
    alone = studio.text_to_speech("Hello.", voice=SPEAKERS, seed=2)
    first = studio.text_to_speech("Hello.", voice=f"{SPEAKERS}#0", seed=2)
    assert np.array_equal(alone.audio, first.audio) and alone.params["voice"] == f"{SPEAKERS}#0"


def test_preset_voices_by_language_code_or_model_name(studio):
    french = studio.text_to_speech("Bonjour.", voice="fr", seed=1)
    assert french.params["language"] == "fr" and french.params["voice"] == "fr" and "speaker" not in french.params
    same = studio.text_to_speech("Bonjour.", language="fr", seed=1)
    assert np.array_equal(french.audio, same.audio) and same.params["voice"] == "fr"
    by_model = studio.text_to_speech("Hello.", voice="tiny:tts", seed=1)
    assert by_model.params["voice"] == "tiny:tts" and by_model.params["language"] == "en"


def test_voices_lists_codes_models_and_speakers(studio):
    names = studio.voices()
    assert names[:3] == ["en", "fr", "tiny:tts"]
    assert [n for n in names if n.startswith(f"{SPEAKERS}#")] == [f"{SPEAKERS}#{i}" for i in range(4)]


@pytest.mark.parametrize(
    "voice, kwargs, message",
    [
        ("de", {}, r"unknown voice 'de'; choose one of: en, fr, tiny:tts, tiny:tts_speakers, tiny:tts_speakers#0 … tiny:tts_speakers#3"),
        (f"{SPEAKERS}#4", {}, r"voice 'tiny:tts_speakers#4': model 'tiny:tts_speakers' has 4 speakers"),
        ("tiny:tts#1", {}, r"voice 'tiny:tts#1': model 'tiny:tts' has one speaker"),
        (f"{SPEAKERS}#two", {}, r"voice .* names speaker 'two'; write a speaker index"),
        (1, {}, r"voice 1: model 'tiny:tts' has one speaker"),
        (True, {}, r"voice must be a name \(en, fr"),
        (" ", {}, r"voice is empty"),
        ("recording", {}, r"voice 'recording' stands for a cloned recording, which recipes do not keep"),
    ],
)
def test_a_wrong_voice_names_voice_and_lists_the_voices(studio, voice, kwargs, message):
    with pytest.raises(ValueError, match=message):
        studio.text_to_speech("Hello.", voice=voice, **kwargs)


def test_the_cli_and_batch_files_take_voice(studio, tmp_path, capsys):
    from studio.core import Studio

    cli.main(["text-to-speech", "Hello.", "--preset", "tiny", "--voice", f"{SPEAKERS}#2", "--seed", "4",
              "--out", str(tmp_path / "cli")])
    [saved] = [line for line in capsys.readouterr().out.splitlines() if line.endswith(".wav")]
    assert Studio.read_recipe(saved)["voice"] == f"{SPEAKERS}#2"
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"task": "text_to_speech", "text": "Hello.", "voice": f"{SPEAKERS}#1", "seed": 3}) + "\n")
    [job] = batch.parse_jobs(jobs, Studio)
    assert job.kwargs["voice"] == f"{SPEAKERS}#1"
