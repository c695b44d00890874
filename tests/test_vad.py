"""Silero VAD in transcription, on real speech (espeak-ng) with silences put in.

The VAD is the real trained model (the weights the silero-vad package ships), so
these tests check what it finds: the windows end inside the silences, the long
silences are not decoded, and where nothing is skipped the tiny Whisper hears
exactly what it heard without VAD.
"""

import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from pipelines import vad
from pipelines.audio_io import resample
from pipelines.transcribe import Window

RATE = 16_000
ESPEAK = shutil.which("espeak-ng")
pytestmark = [
    pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed"),
    pytest.mark.skipif(not vad.available(), reason="silero-vad is not installed"),
]
SENTENCES = [
    "The quick brown fox jumps over the lazy dog, and then it rests in the warm sun.",
    "Bonjour à tous, il fait beau aujourd'hui, et nous allons nous promener au parc.",
    "Speech recognition works best when the silence between sentences is left out.",
    "Les fenêtres de trente secondes se terminent dans les pauses entre les phrases.",
]


def spoken(tmp_path, text: str, index: int) -> np.ndarray:
    path = tmp_path / f"s{index}.wav"
    subprocess.run([ESPEAK, "-v", "fr" if index % 2 else "en", "-w", str(path), text], check=True)
    samples, rate = sf.read(path, dtype="float32")
    return resample(samples, rate, RATE)


@pytest.fixture(scope="module")
def talk(tmp_path_factory):
    """Eight sentences with 4 s of silence between them: (audio, [(start, end) of each silence])."""
    folder = tmp_path_factory.mktemp("talk")
    parts, silences, at = [], [], 0
    for index in range(8):
        if index:
            gap = np.zeros(4 * RATE, dtype=np.float32)
            parts.append(gap)
            silences.append((at, at + len(gap)))
            at += len(gap)
        speech = spoken(folder, SENTENCES[index % 4], index)
        parts.append(speech)
        at += len(speech)
    return np.concatenate(parts), silences


def inside(sample: int, silences, audio_length: int) -> bool:
    return sample in (0, audio_length) or any(a <= sample <= b for a, b in silences)


def test_windows_end_inside_the_silences_and_skip_them(studio, talk):
    audio, silences = talk
    result = studio.speech_to_text((RATE, audio), vad=True)
    from pipelines.transcribe import SpeechToText

    with studio._use("speech_to_text", studio.model_ref("transcribe"), SpeechToText.from_pretrained) as whisper:
        cuts = whisper.speech_windows(audio)
    assert result.params["vad"] is True and result.params["windows"] == len(cuts) >= 2
    for window in cuts:
        parts = window.parts()
        assert sum(b - a for a, b in parts) <= 30 * RATE
        for a, b in parts:  # every piece starts and ends in a silence, never inside a sentence
            assert inside(a, silences, len(audio)) and inside(b, silences, len(audio))
    # the middle of each 4 s silence is heard by no window
    for a, b in silences:
        middle = range(a + RATE, b - RATE)
        assert not any(p < middle.stop and middle.start < q for w in cuts for p, q in w.parts())
    # about 7 x (4 s - twice the 0.4 s margin) of silence skipped, as the recipe says
    assert result.params["skipped_seconds"] == pytest.approx(7 * 3.2, abs=2.0)
    # segments are on the input's clock, inside the speech that was heard
    assert result.segments and result.text
    heard = [(p / RATE, q / RATE) for w in cuts for p, q in w.parts()]
    for start, end, _ in result.segments:
        assert start <= end
        assert any(p <= start <= q for p, q in heard) and any(p <= end <= q for p, q in heard)
    assert [s[0] for s in result.segments] == sorted(s[0] for s in result.segments)


def test_nothing_skipped_gives_the_same_transcript(studio, tmp_path):
    audio = spoken(tmp_path, SENTENCES[0], 0)
    with_vad = studio.speech_to_text((RATE, audio), vad=True)
    without = studio.speech_to_text((RATE, audio), vad=False)
    assert with_vad.params["skipped_seconds"] == 0 and with_vad.params["windows"] == 1
    assert with_vad.text == without.text and with_vad.segments == without.segments
    assert with_vad.text


def test_noise_and_silence_hold_no_speech(studio):
    noise = (0.1 * np.random.default_rng(0).standard_normal(5 * RATE)).astype(np.float32)
    for audio in (noise, np.zeros(5 * RATE, dtype=np.float32)):
        result = studio.speech_to_text((RATE, audio), vad=True)
        assert result.text == "" and result.segments == [] and result.params["skipped_seconds"] == 5.0


def test_vad_must_be_a_boolean(studio):
    with pytest.raises(ValueError, match="vad must be true or false, got 'yes'"):
        studio.speech_to_text((RATE, np.zeros(RATE, dtype=np.float32)), vad="yes")


def test_pack_fills_windows_in_order():
    stretches = [vad.Speech(i * 100, i * 100 + 40) for i in range(5)]
    assert vad.pack(stretches, 100) == [tuple(stretches[:2]), tuple(stretches[2:4]), (stretches[4],)]
    assert vad.pack([], 100) == []


def test_clip_times_map_back_onto_the_input():
    window = Window(100, 1000, ((100, 300), (700, 1000)))  # 200 + 300 samples heard, at 100 Hz
    assert window.to_source(0.0, 100) == 1.0
    assert window.to_source(1.5, 100) == 2.5
    assert window.to_source(2.0, 100, closing=True) == 3.0  # the seam closes the first piece...
    assert window.to_source(2.0, 100) == 7.0  # ...and opens the second
    assert window.to_source(4.0, 100) == 9.0
    assert window.to_source(60.0, 100) == 10.0  # clamped to the window
    assert np.array_equal(window.clip(np.arange(1000)), np.r_[100:300, 700:1000])
