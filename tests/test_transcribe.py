"""Speech-to-text on the tiny Whisper: inputs of every kind, long audio, subtitles, translation.

The tiny model has random weights: it writes a few words per 30 s window whatever
it hears, so these tests check what the studio promises (text comes out,
segments are ordered and placed, subtitles parse), not what was said.
"""

import re
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from pipelines.results import Transcript
from pipelines.transcribe import SpeechToText, windows
from studio import Studio, tiny

ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed")
TIME = r"(\d\d):(\d\d):(\d\d)[,.](\d{3})"


def speech(tmp_path, text: str, voice: str) -> tuple[np.ndarray, int]:
    """Real speech from espeak-ng: (samples, rate)."""
    path = tmp_path / f"{voice}.wav"
    subprocess.run([ESPEAK, "-v", voice, "-w", str(path), text], check=True)
    samples, rate = sf.read(path, dtype="float32")
    return samples, rate


def noise(seconds: float, rate: int = 16_000) -> np.ndarray:
    return (0.1 * np.random.default_rng(0).standard_normal(int(seconds * rate))).astype(np.float32)


def seconds(match) -> float:
    hours, minutes, secs, millis = (int(g) for g in match)
    return hours * 3600 + minutes * 60 + secs + millis / 1000


def parse_srt(text: str) -> list[tuple[float, float, str]]:
    cues = []
    for number, block in enumerate(text.strip().split("\n\n"), 1):
        index, timing, *words = block.split("\n")
        assert int(index) == number
        groups = re.fullmatch(f"{TIME} --> {TIME}", timing).groups()
        assert "," in timing and words and all(words)
        cues.append((seconds(groups[:4]), seconds(groups[4:]), " ".join(words)))
    return cues


def parse_vtt(text: str) -> list[tuple[float, float, str]]:
    header, _, body = text.partition("\n\n")
    assert header == "WEBVTT"
    cues = []
    for block in filter(None, body.strip().split("\n\n")):
        timing, *words = block.split("\n")
        groups = re.fullmatch(f"{TIME} --> {TIME}", timing).groups()
        assert "." in timing and words and all(words)
        cues.append((seconds(groups[:4]), seconds(groups[4:]), " ".join(words)))
    return cues


@needs_espeak
@pytest.mark.parametrize("voice, text", [("en", "The quick brown fox jumps over the lazy dog."),
                                         ("fr", "Bonjour à tous, il fait beau aujourd'hui.")])
def test_english_and_french_speech_is_transcribed(studio, tmp_path, voice, text):
    result = studio.speech_to_text(speech(tmp_path, text, voice))
    assert isinstance(result, Transcript) and result.text.strip()
    assert result.language and result.params["task"] == "speech_to_text"


@needs_espeak
def test_files_and_tuples_of_every_kind_are_transcribed(studio, tmp_path):
    samples, rate = speech(tmp_path, "Testing one two three.", "en")
    stereo = np.stack([samples, samples], axis=1)
    inputs = []
    for name, data, target_rate in [("stereo.wav", stereo, 44_100), ("voice.flac", samples, 22_050), ("voice.ogg", samples, 22_050)]:
        from pipelines.audio_io import resample

        sf.write(tmp_path / name, resample(data, rate, target_rate), target_rate)
        inputs.append(tmp_path / name)
    inputs.append((rate, (samples * 32767).astype(np.int16)))
    for value in inputs:
        assert studio.speech_to_text(value).text.strip(), value


def test_long_audio_gives_ordered_segments_in_every_window(studio):
    audio = noise(70)
    result = studio.speech_to_text((16_000, audio), batch_size=8)
    one_by_one = studio.speech_to_text((16_000, audio), batch_size=1)
    assert result.segments == one_by_one.segments and result.text == one_by_one.text  # batching changes nothing
    starts = [start for start, _, _ in result.segments]
    assert starts == sorted(starts)
    assert all(0 <= start <= end <= 70 and text for start, end, text in result.segments)
    cuts = windows(audio, 16_000, 480_000)
    assert len(cuts) == 3 and cuts[0].start == 0 and cuts[-1].end == len(audio)
    for window in cuts:  # each 30 s window contributes, inside its own span
        assert any(window.start / 16_000 <= start and end <= window.end / 16_000 for start, end, _ in result.segments)
    assert result.params["audio_seconds"] == 70.0


def test_subtitles_parse_and_match_the_segments(studio):
    result = studio.speech_to_text((16_000, noise(70)))
    srt, vtt = parse_srt(result.to_srt()), parse_vtt(result.to_vtt())
    assert len(srt) == len(vtt) == len(result.segments) > 0
    for (start, end, text), cue, vtt_cue in zip(result.segments, srt, vtt, strict=True):
        assert cue == vtt_cue
        assert cue[0] == pytest.approx(start, abs=1e-3) and cue[1] == pytest.approx(end, abs=1e-3)
        assert cue[2] == " ".join(text.split())


def test_cue_text_stays_on_one_line():
    transcript = Transcript("a", [(0.0, 1.0, "one\n\ntwo --> three"), (3599.9996, 3600.0, "x")], "en", {})
    assert parse_srt(transcript.to_srt())[0][2] == "one two --&gt; three"
    assert "01:00:00,000 --> 01:00:00,000" in transcript.to_srt()


def test_windows_cut_at_the_quietest_moment():
    audio = noise(65)
    audio[int(28.5 * 16_000) : int(28.7 * 16_000)] = 0  # a pause in the last 2 s of the first window
    cuts = windows(audio, 16_000, 480_000)
    assert 28.5 * 16_000 < cuts[0].end <= 28.7 * 16_000
    assert all(b.start == a.end for a, b in zip(cuts, cuts[1:], strict=False))
    assert all(w.end - w.start <= 480_000 for w in cuts) and cuts[-1].end == len(audio)


@pytest.fixture(scope="module")
def whisper():
    return SpeechToText.from_pretrained(str(tiny.ensure("whisper")), device="cpu")


def test_timestamp_tokens_become_segments(whisper):
    at = lambda s: whisper.timestamp_begin + round(s / whisper.time_precision)  # noqa: E731
    words = whisper.processor.tokenizer(" hello", add_special_tokens=False).input_ids
    tokens = [at(0.0), *words, at(1.5), at(1.5), *words, at(3.0), at(3.0), *words]  # the last one is cut
    segments = whisper.segments(tokens, 30.0, 45.0, timestamps=True)
    assert [(s, e) for s, e, _ in segments] == [(30.0, 31.5), (31.5, 33.0), (33.0, 45.0)]
    assert all(text == "hello" for _, _, text in segments)
    assert whisper.segments([at(29.0), *words, at(30.0)], 0.0, 10.0, timestamps=True) == [(10.0, 10.0, "hello")]
    assert whisper.segments(words, 5.0, 9.0, timestamps=False) == [(5.0, 9.0, "hello")]


def test_silence_gives_an_empty_transcript(studio):
    for silence in [np.zeros(16_000 * 40, dtype=np.int16), np.random.default_rng(1).normal(0, 1e-5, 16_000 * 5)]:
        result = studio.speech_to_text((16_000, silence))
        assert result.text == "" and result.segments == [] and result.to_srt() == ""
        assert result.to_vtt() == "WEBVTT\n\n"


def test_translate_and_forced_language_are_recorded(studio):
    result = studio.speech_to_text((16_000, noise(3)), task="translate", language="fr", timestamps=False)
    assert result.params["whisper_task"] == "translate" and result.params["language"] == "fr"
    assert result.language == "fr"
    assert result.segments == [(0.0, 3.0, result.text)]


@pytest.mark.parametrize(
    "audio, kwargs, message",
    [
        ((16_000, np.zeros(0, dtype=np.float32)), {}, "audio is empty"),
        ((16_000, np.full(16_000, np.nan, dtype=np.float32)), {}, "NaN"),
        ((1_000, np.zeros(601_000, dtype=np.int16)), {}, "limit is 600 s"),
        ((16_000, np.zeros(16_000, dtype=np.float32)), {"task": "summarize"}, "unknown task 'summarize'"),
        ((16_000, np.zeros(16_000, dtype=np.float32)), {"language": "xx"}, "unknown language 'xx'"),
        ((16_000, np.zeros(16_000, dtype=np.float32)), {"batch_size": 0}, "batch_size"),
        ((16_000, np.zeros(16_000, dtype=np.float32)), {"timestamps": "yes"}, "timestamps"),
        ("missing-file.wav", {}, "does not exist"),
    ],
)
def test_bad_input_raises_value_error(studio, audio, kwargs, message):
    with pytest.raises(ValueError, match=message):
        studio.speech_to_text(audio, **kwargs)


def test_unreadable_file_raises_value_error(studio, tmp_path):
    (tmp_path / "talk.mp3").write_bytes(b"\x00\x01 definitely not audio" * 50)
    with pytest.raises(ValueError, match="could not be read"):
        studio.speech_to_text(tmp_path / "talk.mp3")


def test_transcripts_save_with_subtitles_and_recipe(studio):
    result = studio.speech_to_text((16_000, noise(5)))
    paths = studio.save(result)
    assert [p.suffix for p in paths] == [".json", ".srt", ".vtt", ".txt"]
    assert parse_srt(paths[1].read_text()) == parse_srt(result.to_srt())
    assert paths[2].read_text().startswith("WEBVTT")
    for path in paths:
        assert Studio.read_recipe(path)["task"] == "speech_to_text"


def test_translate_speech_into_english_speaks_the_transcript(studio):
    result = studio.translate_speech((16_000, noise(3)), language="en", seed=5)
    assert result.params["task"] == "translate_speech" and result.params["language"] == "en"
    assert result.params["transcript"] and result.params["text"] == result.params["transcript"]
    assert result.audio.dtype == np.float32 and result.duration > 0
    [path] = studio.save(result)
    assert Studio.read_recipe(path)["transcript"] == result.params["transcript"]


def test_translate_speech_into_french_goes_through_the_text_model(studio):
    if not hasattr(studio, "text_to_text"):
        pytest.skip("this studio has no text model operations")
    first = studio.translate_speech((16_000, noise(3)), language="fr", seed=2)
    again = studio.translate_speech((16_000, noise(3)), language="fr", seed=2)
    assert np.array_equal(first.audio, again.audio)
    params = first.params
    assert params["language"] == "fr" and params["seed"] == 2 and params["text"]
    assert params["source_language"] == "fr" or params["translate_model"]  # translated unless already French


def test_translate_speech_refuses_silence_and_unknown_languages(studio):
    with pytest.raises(ValueError, match="no speech"):
        studio.translate_speech((16_000, np.zeros(16_000, dtype=np.float32)), language="en")
    with pytest.raises(ValueError, match="unknown language 'de'; choose one of: en, fr"):
        studio.translate_speech((16_000, noise(1)), language="de")


def test_a_stop_ends_a_transcription_within_a_window_and_gives_nothing(studio):
    import threading

    from pipelines.errors import Cancelled

    audio = (16_000, noise(70))
    asked = []

    def stop_in_the_second_window():
        asked.append(1)
        return len(asked) > 3

    with pytest.raises(Cancelled, match="transcription was stopped"):
        studio.speech_to_text(audio, batch_size=1, vad=False, stop=stop_in_the_second_window)
    halt = threading.Event()
    halt.set()
    with pytest.raises(Cancelled):
        studio.translate_speech(audio, language="en", stop=halt)
    assert studio.speech_to_text(audio, stop=lambda: False).text == studio.speech_to_text(audio).text
