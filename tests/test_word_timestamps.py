"""Word timestamps (`timestamps="word"`) from the tiny Whisper's alignment heads.

The tiny model's words are random, and so is where its cross-attention looks; what
the studio promises holds whatever they are: every word lies inside its segment,
the words run forwards, they spell the segment's text, and they reach the JSON
and the WebVTT cues.
"""

import html
import json
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
import webvtt

from pipelines import vad, words
from pipelines.audio_io import resample
from pipelines.results import Transcript
from studio import Studio

RATE = 16_000
ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed")


def spoken(tmp_path, text: str) -> np.ndarray:
    path = tmp_path / "talk.wav"
    subprocess.run([ESPEAK, "-w", str(path), text], check=True)
    samples, rate = sf.read(path, dtype="float32")
    return resample(samples, rate, RATE)


def check_words(result: Transcript) -> None:
    assert len(result.words) == len(result.segments) > 0
    previous_end = 0.0
    for (start, end, text), spoken_words in zip(result.segments, result.words, strict=True):
        assert spoken_words, text
        assert " ".join(w for _, _, w in spoken_words) == " ".join(text.split())
        for a, b, _ in spoken_words:
            assert start <= a <= b <= end  # inside the segment
            assert a >= previous_end  # monotonic across the whole transcript
            previous_end = b


@needs_espeak
def test_words_are_monotonic_inside_their_segments(studio, tmp_path):
    audio = spoken(tmp_path, "The quick brown fox jumps over the lazy dog. It rests in the warm sun.")
    long = np.concatenate([audio, np.zeros(2 * RATE, np.float32), audio] * 5)  # over 30 s: several windows
    result = studio.speech_to_text((RATE, long), timestamps="word", vad=False)
    check_words(result)
    assert result.params["timestamps"] == "word"
    plain = studio.speech_to_text((RATE, long), timestamps=True, vad=False)
    assert plain.segments == result.segments and plain.words == []  # word times change no segment


@needs_espeak
@pytest.mark.skipif(not vad.available(), reason="silero-vad is not installed")
def test_words_stay_inside_the_speech_vad_kept(studio, tmp_path):
    audio = spoken(tmp_path, "Speech recognition works best when the silence is left out.")
    gap = np.zeros(5 * RATE, np.float32)
    result = studio.speech_to_text((RATE, np.concatenate([audio, gap, audio, gap, audio])), timestamps="word", vad=True)
    assert result.params["skipped_seconds"] > 5
    check_words(result)


def test_words_reach_the_json_and_the_vtt_cue_timestamps(studio, tmp_path):
    noise = (0.1 * np.random.default_rng(0).standard_normal(5 * RATE)).astype(np.float32)
    result = studio.speech_to_text((RATE, noise), timestamps="word", vad=False)
    check_words(result)
    paths = studio.save(result)
    document = json.loads(paths[0].read_text())
    assert document["words"] == [[list(w) for w in segment] for segment in result.words]
    captions = webvtt.read(str(paths[2]))
    for caption, (_, _, text) in zip(captions, result.segments, strict=True):
        assert html.unescape(caption.text) == " ".join(text.split())  # the tags are timing, not text
    assert Studio.read_recipe(paths[2])["timestamps"] == "word"


def test_vtt_cue_timestamps_follow_the_words():
    transcript = Transcript(
        "Tom & Jerry", [(1.0, 3.0, "Tom & Jerry")], "en", {}, words=[[(1.0, 1.4, "Tom"), (1.5, 1.7, "&"), (2.0, 3.0, "Jerry")]]
    )
    assert "\nTom <00:00:01.500>&amp; <00:00:02.000>Jerry\n" in transcript.to_vtt()
    assert transcript.to_srt().endswith("Tom &amp; Jerry\n")  # SRT has no word timing
    assert transcript.word_list()[-1] == (2.0, 3.0, "Jerry")


def test_word_times_are_clamped_and_made_monotonic():
    assert words.place([(0.5, 1.2, "a"), (1.0, 0.9, "b"), (2.5, 9.0, "c")], 1.0, 3.0) == [
        (1.0, 1.2, "a"),
        (1.2, 1.2, "b"),
        (2.5, 3.0, "c"),
    ]
    grouped = words.group(["ĠTom", "Ġ&", "ĠJer", "ry", "."], [0.0, 0.2, 0.4, 0.6, 0.8], 1.0)
    assert grouped == [([0], 0.0, 0.2), ([1], 0.2, 0.4), ([2, 3, 4], 0.4, 1.0)]


@pytest.mark.parametrize("value", ["words", "yes", 1, 0.0])
def test_timestamps_takes_true_false_or_word(studio, value):
    with pytest.raises(ValueError, match="timestamps must be true, false or 'word'"):
        studio.speech_to_text((RATE, np.zeros(RATE, np.float32)), timestamps=value)


def test_cli_option_takes_word_or_a_boolean():
    from studio.serving.cli import build_parser

    parser = build_parser()
    for given, parsed in [("word", "word"), ("true", True), ("false", False)]:
        assert parser.parse_args(["speech-to-text", "talk.wav", "--timestamps", given]).timestamps == parsed
