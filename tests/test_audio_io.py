"""Reading audio inputs: every container, sample type, rate and channel count; bad input named."""

import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from pipelines.audio_io import decode, is_silent, load_audio, resample
from pipelines.results import AudioResult

HAS_MP3 = "MP3" in sf.available_formats()


def sine(frequency: float, rate: int, seconds: float = 0.5, amplitude: float = 0.5) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * frequency * np.arange(int(rate * seconds)) / rate)).astype(np.float32)


def peak_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])


def test_resampling_keeps_a_sine_at_its_frequency():
    samples, rate = load_audio((44_100, sine(1000, 44_100, seconds=1.0)), 16_000)
    assert rate == 16_000 and samples.dtype == np.float32 and samples.shape == (16_000,)
    assert abs(peak_frequency(samples, 16_000) - 1000) < 2
    assert 0.45 < np.abs(samples[100:-100]).max() < 0.55  # the filter keeps the level


@pytest.mark.parametrize("rate", [8_000, 11_025, 16_000, 22_050, 32_000, 44_100, 48_000, 88_200, 96_000])
def test_any_rate_comes_out_at_the_models_rate(rate):
    samples, _ = load_audio((rate, sine(440, rate)), 16_000)
    assert abs(len(samples) - 8_000) <= 1
    assert abs(peak_frequency(samples, 16_000) - 440) < 4


@pytest.mark.parametrize(
    "suffix, subtype",
    [
        (".wav", "PCM_U8"), (".wav", "PCM_16"), (".wav", "PCM_24"), (".wav", "PCM_32"), (".wav", "FLOAT"),
        (".wav", "DOUBLE"), (".flac", "PCM_S8"), (".flac", "PCM_16"), (".flac", "PCM_24"), (".ogg", "VORBIS"),
        pytest.param(".mp3", "MPEG_LAYER_III", marks=pytest.mark.skipif(not HAS_MP3, reason="libsndfile without MP3")),
    ],
)
def test_every_container_and_sample_type_is_read(tmp_path, suffix, subtype):
    path = tmp_path / f"tone{suffix}"
    sf.write(path, np.stack([sine(440, 22_050), sine(440, 22_050)], axis=1), 22_050, subtype=subtype)
    samples, rate = load_audio(path, 16_000)
    assert rate == 16_000 and samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) - 8_000) < 1_200  # MP3 and Vorbis pad a little
    assert abs(peak_frequency(samples, 16_000) - 440) < 10
    assert 0.3 < np.abs(samples).max() < 0.7


@pytest.mark.parametrize(
    "dtype, value, expected",
    [
        (np.uint8, 192, 0.5), (np.int8, 64, 0.5), (np.int16, 16_384, 0.5), (np.int32, 2**30, 0.5),
        (np.float32, 0.5, 0.5), (np.float64, -0.25, -0.25), (np.dtype(">i2"), 16_384, 0.5),
    ],
)
def test_tuples_of_every_sample_type_are_scaled_to_full_scale_one(dtype, value, expected):
    samples, _ = load_audio((16_000, np.full(1_600, value, dtype=dtype)), 16_000)
    assert samples.dtype == np.float32
    assert np.allclose(samples, expected)


@pytest.mark.parametrize("channels", range(1, 9))
def test_channels_are_averaged(channels):
    levels = np.arange(channels, dtype=np.float32) / 10
    samples, _ = load_audio((16_000, np.tile(levels, (1_600, 1))), 16_000)
    assert samples.shape == (1_600,) and np.allclose(samples, levels.mean())


def test_audio_results_are_inputs_too():
    stereo = AudioResult(np.stack([sine(440, 32_000), -sine(440, 32_000)], axis=1), 32_000, {})
    samples, rate = load_audio(stereo, 16_000)
    assert rate == 16_000 and np.allclose(samples, 0.0, atol=1e-6)  # opposite channels cancel
    samples, rate = load_audio(stereo)  # without a target rate: the source's
    assert rate == 32_000 and len(samples) == 16_000


def test_soundfile_order_is_accepted_too():
    samples, rate = load_audio((sine(440, 8_000), 8_000), 16_000)
    assert rate == 16_000 and abs(len(samples) - 8_000) <= 1


def test_decode_keeps_channels_and_rate():
    samples, rate = decode((44_100, np.zeros((4_410, 2), dtype=np.int16)))
    assert rate == 44_100 and samples.shape == (4_410, 2) and samples.dtype == np.float32


def test_resample_is_identity_at_the_same_rate():
    samples = sine(440, 16_000)
    assert resample(samples, 16_000, 16_000) is samples


def test_silence_is_valid_and_detected():
    silence, _ = load_audio((16_000, np.zeros(16_000, dtype=np.int16)), 16_000)
    assert is_silent(silence)
    dither = np.random.default_rng(0).normal(0, 1e-5, 16_000).astype(np.float32)
    assert is_silent(dither)
    assert not is_silent(sine(440, 16_000, amplitude=0.01))


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_ffmpeg_decodes_what_libsndfile_cannot(tmp_path):
    source, target = tmp_path / "tone.wav", tmp_path / "tone.m4a"
    sf.write(source, sine(440, 44_100, seconds=1.0), 44_100)
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(source), str(target)], check=True)
    samples, rate = load_audio(target, 16_000)
    assert rate == 16_000 and abs(len(samples) - 16_000) < 2_000
    assert abs(peak_frequency(samples, 16_000) - 440) < 10


@pytest.mark.parametrize(
    "value, message",
    [
        ((16_000, np.zeros(0, dtype=np.float32)), "empty"),
        ((16_000, np.zeros(1, dtype=np.float32)), "too short"),
        ((16_000, np.full(1_600, np.nan, dtype=np.float32)), "NaN"),
        ((16_000, np.concatenate([np.zeros(1_600), [np.inf]])), "infinite"),
        ((16_000, np.zeros((2, 16_000), dtype=np.float32)), r"\.T"),
        ((16_000, np.zeros((100, 9), dtype=np.float32)), "8 channels"),
        ((16_000, np.zeros(1_600, dtype=np.int64)), "int64"),
        ((16_000, np.zeros(1_600, dtype=bool)), "bool"),
        ((0, np.zeros(1_600, dtype=np.float32)), "sampling rate"),
        ((16_000.5, np.zeros(1_600, dtype=np.float32)), "sampling rate"),
        (np.zeros(1_600, dtype=np.float32), "no sampling rate"),
        (None, "missing"),
        (42, "must be a file path"),
    ],
)
def test_bad_input_is_a_value_error_naming_the_problem(value, message):
    with pytest.raises(ValueError, match=message) as error:
        load_audio(value, 16_000)
    assert str(error.value).startswith("audio")


def test_unreadable_and_missing_files_are_value_errors(tmp_path):
    garbage = tmp_path / "noise.wav"
    garbage.write_bytes(b"RIFF not really a wave file" * 10)
    with pytest.raises(ValueError, match="could not be read"):
        load_audio(garbage, 16_000)
    with pytest.raises(ValueError, match="does not exist"):
        load_audio(tmp_path / "missing.flac", 16_000)


def test_over_long_input_is_refused_before_decoding(tmp_path):
    path = tmp_path / "long.flac"
    sf.write(path, np.zeros(16_000 * 3, dtype=np.float32), 16_000)
    with pytest.raises(ValueError, match="3.0 s long; the limit is 2 s"):
        load_audio(path, 16_000, max_seconds=2)
    with pytest.raises(ValueError, match="limit is 600 s"):
        load_audio((1_000, np.zeros(601_000, dtype=np.int16)), 16_000)
