"""Melody-conditioned music: the chroma computed without torchaudio, and the tiny MusicGen Melody.

The chroma is checked against its definition computed independently with
librosa (the power spectrogram and librosa's chroma filters), and on pure tones,
whose pitch class must light up alone.
"""

import numpy as np
import pytest

from pipelines.melody import PITCH_CLASSES, chroma, raw_chroma

RATE = 32_000
SETTINGS = {"sampling_rate": RATE, "n_fft": 16384, "hop_length": 4096}


def tone(frequency: float, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.5 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


@pytest.mark.parametrize("frequency, name", [(440.0, "A"), (261.63, "C"), (392.0, "G"), (329.63, "E"), (466.16, "A#")])
def test_a_pure_tone_lights_up_its_pitch_class(frequency, name):
    features = chroma(tone(frequency), **SETTINGS)
    assert features.shape == (1 + 2 * RATE // 4096, 12)
    assert (features.sum(axis=1) == 1).all()  # one-hot, as the model was trained on
    assert {PITCH_CLASSES[i] for i in features.argmax(axis=1)} == {name}


def test_the_chroma_follows_a_tune_frame_by_frame():
    tune = np.concatenate([tone(261.63, 1.0), tone(329.63, 1.0), tone(392.0, 1.0)])  # C, E, G
    classes = [PITCH_CLASSES[i] for i in chroma(tune, **SETTINGS).argmax(axis=1)]
    # frames 128 ms apart; a frame spans 0.5 s, so the ones around a change may go either way
    assert classes[:2] == ["C", "C"] and classes[9:11] == ["E", "E"] and classes[-2:] == ["G", "G"]


def test_the_chroma_matches_its_definition_computed_with_librosa():
    librosa = pytest.importorskip("librosa")
    rng = np.random.default_rng(0)
    audio = (tone(440.0, 3.0) + 0.3 * tone(587.33, 3.0) + 0.05 * rng.standard_normal(3 * RATE)).astype(np.float32)
    window = librosa.filters.get_window("hann", 16384, fftbins=True)
    power = np.abs(librosa.stft(audio, n_fft=16384, hop_length=4096, window="hann", center=True, pad_mode="reflect")) ** 2
    power /= np.sum(window**2)  # torchaudio's normalized=True
    filters = librosa.filters.chroma(sr=RATE, n_fft=16384, tuning=0.0, n_chroma=12, base_c=True)
    expected = filters @ power
    np.testing.assert_allclose(raw_chroma(audio, **SETTINGS), expected, rtol=1e-3, atol=1e-6 * expected.max())
    assert np.array_equal(chroma(audio, **SETTINGS).argmax(axis=1), expected.argmax(axis=0))


def test_a_short_melody_is_padded_to_one_fft():
    assert chroma(tone(440.0, 0.2), **SETTINGS).argmax(axis=1).tolist() == [9] * 5


def test_music_follows_the_melody_with_the_seed(studio, tmp_path):
    melody = (RATE, tone(440.0, 3.0))
    first = studio.text_to_music("calm piano", melody=melody, duration=0.5, seed=3)
    again = studio.text_to_music("calm piano", melody=melody, duration=0.5, seed=3)
    other = studio.text_to_music("calm piano", melody=(RATE, tone(261.63, 3.0)), duration=0.5, seed=3)
    assert np.array_equal(first.audio, again.audio)  # same seed, same music
    assert not np.array_equal(first.audio, other.audio)  # another tune, other music
    params = first.params
    assert params["task"] == "text_to_music" and params["melody_seconds"] == 3.0
    assert params["melody_pitch_classes"] == "A 100%" and "musicgen_melody" in params["model"]
    assert first.duration == pytest.approx(0.5, abs=0.05)
    [path] = studio.save(first)
    from studio import Studio

    assert Studio.read_recipe(path)["melody_pitch_classes"] == "A 100%"


@pytest.mark.parametrize(
    "melody, kwargs, message",
    [
        ((RATE, np.zeros(RATE, np.float32)), {}, "melody is silent"),
        ((RATE, np.zeros(0, np.float32)), {}, "melody is empty"),
        ((RATE, tone(440.0, 1.0)), {"duration": 31}, "duration with a melody must be at most 30 s"),
        ("no-such-tune.wav", {}, "melody file 'no-such-tune.wav' does not exist"),
    ],
)
def test_bad_melodies_are_named(studio, melody, kwargs, message):
    with pytest.raises(ValueError, match=message):
        studio.text_to_music("calm piano", melody=melody, **kwargs)
