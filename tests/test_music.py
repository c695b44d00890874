"""Text-to-music and continuation on the tiny MusicGen (mono), and on a tiny stereo variant."""

import numpy as np
import pytest
import soundfile as sf
import torch

from pipelines.music import TextToMusic
from studio import AudioResult, Studio, tiny


def test_two_seconds_twice_with_one_seed_is_identical(studio):
    first = studio.text_to_music("calm piano", duration=2, seed=11)
    again = studio.text_to_music("calm piano", duration=2, seed=11)
    other = studio.text_to_music("calm piano", duration=2, seed=12)
    assert np.array_equal(first.audio, again.audio)
    assert not np.array_equal(first.audio, other.audio)
    assert 1.5 <= first.duration <= 2.6
    assert first.audio.dtype == np.float32 and first.audio.ndim == 1
    params = first.params
    assert params["task"] == "text_to_music" and params["seed"] == 11 and params["duration"] == 2.0
    for key in ("model", "guidance", "temperature", "top_k", "preset", "device", "sampling_rate"):
        assert key in params


def test_equals_raw_transformers_generate(studio):
    from transformers import AutoProcessor, MusicgenForConditionalGeneration

    result = studio.text_to_music("calm piano", duration=1, seed=3)
    folder = studio.model_ref("music", result.params["model"])
    processor = AutoProcessor.from_pretrained(folder)
    dtype = getattr(torch, result.params["dtype"])  # the format the studio picked
    model = MusicgenForConditionalGeneration.from_pretrained(folder, dtype=dtype, use_safetensors=True).eval()
    inputs = processor(text=["calm piano"], padding=True, return_tensors="pt")
    torch.manual_seed(3)
    with torch.no_grad():
        raw = model.generate(**inputs, do_sample=True, guidance_scale=3.0, top_k=250, max_new_tokens=53)
    assert np.array_equal(raw[0, 0].numpy(), result.audio)


def test_settings_change_the_music(studio):
    base = studio.text_to_music("calm piano", duration=1, seed=5)
    for change in [{"guidance": 1.0}, {"temperature": 0.5}, {"top_k": 1}]:
        assert not np.array_equal(studio.text_to_music("calm piano", duration=1, seed=5, **change).audio, base.audio)


def test_beyond_the_30_second_window_music_goes_on_window_by_window(studio):
    result = studio.text_to_music("slow ambient pad", duration=35, seed=1)
    assert result.duration == pytest.approx(35.0, abs=0.02)
    assert np.abs(result.audio[-16_000:]).max() > 0  # the second window wrote sound


def test_continue_music_gives_new_audio_of_the_asked_length(studio):
    start = studio.text_to_music("calm piano", duration=2, seed=1)
    more = studio.continue_music(start, "add drums", duration=1.5, seed=2)
    assert more.duration == pytest.approx(1.5, abs=0.02) and more.params["task"] == "continue_music"
    assert more.params["audio_seconds"] == 2.0 and more.params["keep_prompt"] is False
    joined = studio.continue_music(start, "add drums", duration=1.5, seed=2, keep_prompt=True)
    assert np.array_equal(joined.audio[: len(start.audio)], start.audio)
    assert np.array_equal(joined.audio[len(start.audio) :], more.audio)


def test_continue_music_takes_any_audio_and_an_empty_prompt(studio):
    stereo = np.random.default_rng(0).uniform(-0.3, 0.3, (44_100, 2)).astype(np.float32)
    result = studio.continue_music((44_100, stereo), "", duration=1, seed=1)
    assert result.duration == pytest.approx(1.0, abs=0.02) and result.params["prompt"] == ""


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"duration": -1}, "duration must be in"),
        ({"duration": 0}, "duration must be in"),
        ({"duration": 121}, "duration must be in"),
        ({"guidance": 0.5}, "guidance"),
        ({"temperature": 0}, "temperature"),
        ({"top_k": -1}, "top_k"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_bad_settings_raise_value_error(studio, kwargs, message):
    with pytest.raises(ValueError, match=message):
        studio.text_to_music("calm piano", **kwargs)


def test_bad_prompts_and_audio_raise_value_error(studio):
    with pytest.raises(ValueError, match="prompt is empty"):
        studio.text_to_music("  ", duration=1)
    for audio, message in [
        ((16_000, np.zeros(0, dtype=np.float32)), "audio is empty"),
        ((16_000, np.full(16_000, np.nan, dtype=np.float32)), "NaN"),
        ((16_000, np.zeros(240, dtype=np.float32)), "shorter than one MusicGen frame"),
        ("no-such-file.wav", "does not exist"),
    ]:
        with pytest.raises(ValueError, match=message):
            studio.continue_music(audio, "drums", duration=1)


def test_music_recipe_round_trips_through_flac(studio):
    result = studio.text_to_music("calm piano", duration=1, seed=2)
    [path] = studio.save(result, format="flac")
    assert {k: v for k, v in Studio.read_recipe(path).items() if k != "studio_version"} == result.params


@pytest.fixture(scope="module")
def stereo_model(tmp_path_factory):
    """The tiny MusicGen with two interleaved codebook sets, as musicgen-stereo-* has."""
    from transformers import (
        AutoProcessor,
        EncodecFeatureExtractor,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        MusicgenProcessor,
    )

    mono = tiny.ensure("musicgen")
    base = MusicgenForConditionalGeneration.from_pretrained(mono, use_safetensors=True)
    decoder = MusicgenDecoderConfig(**{**base.config.decoder.to_dict(), "num_codebooks": 8, "audio_channels": 2})
    config = MusicgenConfig(text_encoder=base.config.text_encoder, audio_encoder=base.config.audio_encoder, decoder=decoder)
    torch.manual_seed(0)
    model = MusicgenForConditionalGeneration(config)
    model.audio_encoder.load_state_dict(base.audio_encoder.state_dict())
    model.generation_config = base.generation_config
    folder = tmp_path_factory.mktemp("musicgen-stereo")
    model.save_pretrained(folder)
    tokenizer = AutoProcessor.from_pretrained(mono).tokenizer
    MusicgenProcessor(EncodecFeatureExtractor(feature_size=2, sampling_rate=16_000), tokenizer).save_pretrained(folder)
    return TextToMusic.from_pretrained(str(folder), device="cpu")


def test_stereo_checkpoints_give_two_channels(stereo_model, tmp_path):
    result = stereo_model("calm piano", duration=2, seed=1)
    assert result.audio.shape == (32_000, 2) and result.params["channels"] == 2
    assert not np.array_equal(result.audio[:, 0], result.audio[:, 1])
    assert np.array_equal(stereo_model("calm piano", duration=2, seed=1).audio, result.audio)
    more = stereo_model.continue_music(AudioResult(result.audio[:, 0], 16_000, {}), "drums", duration=1, seed=1)
    assert more.audio.shape == (16_000, 2)
    from studio.outputs import save

    [path] = save(result, tmp_path, format="flac")
    samples, rate = sf.read(path, dtype="float32")
    assert samples.shape == (32_000, 2) and rate == 16_000
    assert Studio.read_recipe(path)["channels"] == 2


def test_a_stop_ends_the_music_within_a_token_and_gives_nothing(studio):
    from pipelines.errors import Cancelled

    asked = []

    def stop_after_five_tokens():
        asked.append(1)
        return len(asked) > 5

    with pytest.raises(Cancelled, match="stopped"):
        studio.text_to_music("calm piano", duration=4, seed=11, stop=stop_after_five_tokens)
    assert len(asked) == 6  # asked once a token, and not once more after it said stop
    with pytest.raises(Cancelled):
        studio.continue_music((32_000, np.zeros(32_000, np.float32)), "", duration=1, stop=lambda: True)
    never = studio.text_to_music("calm piano", duration=2, seed=11, stop=lambda: False)
    assert np.array_equal(never.audio, studio.text_to_music("calm piano", duration=2, seed=11).audio)
