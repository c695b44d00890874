"""The number format chosen per model kind, by the CPU's units, and kept equal to the raw libraries.

The machine's own units are hidden from the other tests (conftest sets
STUDIO_CPU_UNITS=none); these tests claim units with that variable, so they run
the bfloat16 and int8 paths on any CPU (slowly where bf16 is emulated: tiny models).
"""

import numpy as np
import pytest
import torch

from pipelines import devices
from studio import Studio

AUTO_PRESET = """
[image]
model = "tiny:sd"
[upscale]
model = "tiny:upscaler"
[text]
model = "tiny:chat"
[text.defaults]
max_new_tokens = 12
[speech.voices]
en = "tiny:tts"
[transcribe]
model = "tiny:whisper"
[music]
model = "tiny:musicgen"
"""
HI = [{"role": "user", "content": "Hello, who are you?"}]


@pytest.fixture(scope="module")
def preset_file(tmp_path_factory):
    """The tiny models with no [runtime] dtype: the automatic choice decides."""
    path = tmp_path_factory.mktemp("preset") / "auto.toml"
    path.write_text(AUTO_PRESET)
    return path


@pytest.fixture
def units(monkeypatch):
    def claim(value: str) -> None:
        monkeypatch.setenv("STUDIO_CPU_UNITS", value)

    return claim


@pytest.fixture
def fast_cpu(units, preset_file, tmp_path):
    """A studio on the tiny models that believes its CPU has bfloat16 and int8 units."""
    units("bf16,int8")
    return Studio(preset=str(preset_file), outputs=tmp_path / "outputs", device="cpu")


@pytest.mark.parametrize(
    "flags, expected",
    [
        ("fpu sse4_2", set()),  # no AVX2: fbgemm's int8 kernels need it
        ("fpu avx2 fma", {"int8"}),  # AVX2 only (Zen 1-3, Haswell-Skylake): bf16 is emulated
        ("fpu avx2 avx512f avx512_vnni", {"int8"}),  # Cascade Lake
        ("fpu avx512f avx512_bf16 avx512_vnni", {"bf16", "int8"}),  # Zen 4, Cooper Lake
        ("fpu avx512_bf16 amx_bf16 amx_tile amx_int8", {"bf16", "int8"}),  # Sapphire Rapids
    ],
)
def test_units_are_read_from_the_cpu_flags(tmp_path, flags, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: x\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n")
    assert devices._units_in_flags(str(cpuinfo)) == expected
    assert devices._units_in_flags(str(tmp_path / "missing")) == set()


def test_each_kind_gets_its_format_from_the_units(units):
    units("bf16,int8")
    chosen = {kind: devices.precision("cpu", "auto", kind=kind) for kind in devices.KINDS}
    assert chosen == {"diffusion": "bfloat16", "speech_to_text": "bfloat16", "text_to_speech": "bfloat16",
                      "music": "bfloat16", "upscale": "float32", "language_model": "int8"}
    units("int8")  # AVX2 without bf16 units: int8 for the kinds that decode token by token
    chosen = {kind: devices.precision("cpu", "auto", kind=kind) for kind in devices.KINDS}
    assert chosen == {"diffusion": "float32", "speech_to_text": "int8", "text_to_speech": "float32",
                      "music": "int8", "upscale": "float32", "language_model": "int8"}
    units("none")
    assert {devices.precision("cpu", None, kind=kind) for kind in devices.KINDS} == {"float32"}


def test_an_asked_format_wins_and_int8_is_for_the_decoding_kinds_on_cpu(units):
    units("bf16,int8")
    assert devices.precision("cpu", "float32", kind="diffusion") == "float32"
    assert devices.precision("cpu", torch.float16, kind="music") == "float16"
    assert devices.precision("cpu", "int8", kind="diffusion") == "bfloat16"  # int8 leaves the other kinds automatic
    assert devices.precision("cpu", "int8", kind="text_to_speech") == "bfloat16"
    assert devices.precision("cpu", "int8", kind="speech_to_text") == "int8"  # asked: wins over bf16
    assert devices.pick_dtype("cpu", "int8", kind="language_model") == torch.float32  # loaded so, then quantized
    for kind in ("language_model", "speech_to_text", "music"):
        with pytest.raises(ValueError, match="int8.*CPU only"):
            devices.precision("cuda", "int8", kind=kind)
    with pytest.raises(ValueError, match="unknown dtype 'int4'"):
        devices.precision("cpu", "int4", kind="language_model")
    with pytest.raises(ValueError, match="unknown model kind"):
        devices.precision("cpu", "auto", kind="vae")


def test_image_in_bf16_equals_raw_diffusers_in_bf16_channels_last(fast_cpu):
    from diffusers import StableDiffusionPipeline

    settings = dict(seed=5, steps=2, width=64, height=64)
    result = fast_cpu.text_to_image("a red fox", **settings)
    again = fast_cpu.text_to_image("a red fox", **settings)
    assert result.params["dtype"] == "bfloat16"
    assert np.array_equal(np.asarray(result.images[0]), np.asarray(again.images[0]))
    raw = StableDiffusionPipeline.from_pretrained(fast_cpu.model_ref("image", result.params["model"]), dtype=torch.bfloat16)
    raw.unet.to(memory_format=torch.channels_last)
    raw.vae.to(memory_format=torch.channels_last)
    raw.set_progress_bar_config(disable=True)
    image = raw("a red fox", num_inference_steps=2, guidance_scale=result.params["guidance"], width=64, height=64,
                generator=torch.Generator().manual_seed(5)).images[0]
    assert np.array_equal(np.asarray(image), np.asarray(result.images[0]))
    assert {m["kind"]: m["dtype"] for m in fast_cpu.loaded_models()} == {"text_to_image": "bfloat16"}


def test_speech_in_bf16_equals_raw_vits_in_bf16(fast_cpu):
    from transformers import VitsModel, VitsTokenizer

    result = fast_cpu.text_to_speech("Hello world.", language="en", seed=3)
    assert result.params["dtype"] == "bfloat16" and result.audio.dtype == np.float32
    assert np.array_equal(result.audio, fast_cpu.text_to_speech("Hello world.", language="en", seed=3).audio)
    folder = fast_cpu.model_ref("speech", result.params["model"])
    tokenizer = VitsTokenizer.from_pretrained(folder)
    model = VitsModel.from_pretrained(folder, dtype=torch.bfloat16, use_safetensors=True).eval()
    torch.manual_seed(3)
    with torch.no_grad():
        raw = model(**tokenizer("Hello world.", return_tensors="pt")).waveform[0].float().numpy()
    assert np.array_equal(raw, result.audio)


def test_music_and_transcription_run_in_bf16(fast_cpu):
    music = fast_cpu.text_to_music("calm piano", duration=1, seed=2)
    assert music.params["dtype"] == "bfloat16" and music.audio.dtype == np.float32
    assert np.array_equal(music.audio, fast_cpu.text_to_music("calm piano", duration=1, seed=2).audio)
    transcript = fast_cpu.speech_to_text((16_000, music.audio[:16_000]))
    assert transcript.params["dtype"] == "bfloat16"
    assert fast_cpu.upscale(np.zeros((16, 16, 3), dtype=np.uint8)).params["dtype"] == "float32"


def test_chat_in_int8_equals_raw_transformers_with_int8_weights(fast_cpu, monkeypatch):
    from torch.ao.nn.quantized.modules.linear import LinearPackedParams
    from transformers import AutoModelForCausalLM, AutoTokenizer

    def copied(self):
        raise AssertionError("the model cache unpacked int8 weights (a copy of each, every call) to count them")

    monkeypatch.setattr(LinearPackedParams, "_weight_bias", copied)

    result = fast_cpu.chat(HI, seed=4, temperature=0.9)
    assert result.params["dtype"] == "int8"
    assert fast_cpu.chat(HI, seed=4, temperature=0.9).text == result.text
    folder = fast_cpu.model_ref("text", result.params["model"])
    tokenizer = AutoTokenizer.from_pretrained(folder)
    raw = torch.ao.quantization.quantize_dynamic(AutoModelForCausalLM.from_pretrained(folder).eval(), {torch.nn.Linear},
                                                 dtype=torch.qint8)
    inputs = tokenizer.apply_chat_template(HI, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    torch.manual_seed(4)
    output = raw.generate(**inputs, do_sample=True, temperature=0.9, top_p=0.9, top_k=50, max_new_tokens=12)
    assert tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True) == result.text
    assert fast_cpu.next_token("The fox").params["dtype"] == "int8"
    # the model cache counts the packed int8 weights (one byte each), beside the float32 tensors
    int8_bytes = sum(m.in_features * m.out_features for m in raw.modules()
                     if isinstance(m, torch.ao.nn.quantized.dynamic.Linear))
    float_bytes = sum(t.untyped_storage().nbytes() for t in [*raw.parameters(), *raw.buffers()])
    assert [m["bytes"] for m in fast_cpu.loaded_models() if m["dtype"] == "int8"][0] >= float_bytes + int8_bytes


@pytest.fixture
def avx2_cpu(units, preset_file, tmp_path):
    """A studio on the tiny models that believes its CPU has int8 kernels but no bfloat16 units."""
    units("int8")
    return Studio(preset=str(preset_file), outputs=tmp_path / "outputs", device="cpu")


def float_linears(model) -> list[str]:
    return [name for name, module in model.named_modules() if type(module) is torch.nn.Linear]


def test_music_in_int8_equals_raw_musicgen_with_an_int8_decoder(avx2_cpu, tmp_path):
    from transformers import AutoProcessor, MusicgenForConditionalGeneration

    result = avx2_cpu.text_to_music("calm piano", duration=1, seed=3)
    assert result.params["dtype"] == "int8"
    assert np.array_equal(result.audio, avx2_cpu.text_to_music("calm piano", duration=1, seed=3).audio)
    folder = avx2_cpu.model_ref("music", result.params["model"])
    processor = AutoProcessor.from_pretrained(folder)
    model = MusicgenForConditionalGeneration.from_pretrained(folder, use_safetensors=True).eval()
    torch.ao.quantization.quantize_dynamic(model.decoder, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
    inputs = processor(text=["calm piano"], padding=True, return_tensors="pt")
    torch.manual_seed(3)
    with torch.no_grad():
        raw = model.generate(**inputs, do_sample=True, guidance_scale=3.0, top_k=250, max_new_tokens=53)
    assert np.array_equal(raw[0, 0].numpy(), result.audio)
    float32 = Studio(preset="tiny", outputs=tmp_path / "float32", device="cpu")
    assert not np.array_equal(float32.text_to_music("calm piano", duration=1, seed=3).audio, result.audio)


def test_transcription_in_int8_is_raw_whisper_with_int8_linears(avx2_cpu):
    from transformers import WhisperForConditionalGeneration

    from pipelines.transcribe import SpeechToText

    speech = (16_000, np.sin(np.linspace(0, 3000, 32_000)).astype(np.float32) * 0.3)
    result = avx2_cpu.speech_to_text(speech, language="en")
    assert result.params["dtype"] == "int8"
    assert avx2_cpu.speech_to_text(speech, language="en").text == result.text
    assert avx2_cpu.speech_to_text(speech, language="en", timestamps="word").params["dtype"] == "int8"  # alignment heads
    with avx2_cpu._use("speech_to_text", avx2_cpu.model_ref("transcribe"), SpeechToText.from_pretrained) as whisper:
        studio_model = whisper.model
    assert float_linears(studio_model) == []  # encoder, decoder and output projection all int8
    raw = WhisperForConditionalGeneration.from_pretrained(avx2_cpu.model_ref("transcribe"), use_safetensors=True).eval()
    torch.ao.quantization.quantize_dynamic(raw, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
    features = torch.randn(1, raw.config.num_mel_bins, 2 * raw.config.max_source_positions)
    tokens = torch.tensor([[raw.config.decoder_start_token_id, 1, 2]])
    with torch.no_grad():
        ours = studio_model(input_features=features, decoder_input_ids=tokens).logits
        theirs = raw(input_features=features, decoder_input_ids=tokens).logits
    assert torch.equal(ours, theirs)


def test_an_asked_dtype_overrides_the_units(units, preset_file, tmp_path):
    units("bf16,int8")
    studio = Studio(preset=str(preset_file), outputs=tmp_path, device="cpu", dtype="float32")
    assert studio.text_to_image("a fox", seed=1, steps=1, width=64, height=64).params["dtype"] == "float32"
    assert studio.chat(HI, seed=1).params["dtype"] == "float32"


def test_the_tiny_preset_is_float32_whatever_the_cpu(units, tmp_path):
    units("bf16,int8")
    studio = Studio(preset="tiny", outputs=tmp_path)
    assert {studio.dtype(kind) for kind in devices.KINDS} == {"float32"}
