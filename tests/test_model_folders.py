"""A local folder of another family is named for what it holds, not blamed on a damaged download."""

import pytest

from pipelines.errors import ModelLoadError
from pipelines.image import TextToImage
from pipelines.music import TextToMusic
from pipelines.speech import TextToSpeech
from pipelines.text import LanguageModel
from pipelines.transcribe import SpeechToText
from studio import tiny


def _speecht5(folder):
    from transformers import SpeechT5Config, SpeechT5ForTextToSpeech

    config = SpeechT5Config(vocab_size=40, hidden_size=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                            decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, speech_decoder_prenet_units=16,
                            speech_decoder_postnet_units=16, speaker_embedding_dim=16, num_mel_bins=8,
                            num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, conv_dim=(16,), conv_stride=(5,),
                            conv_kernel=(10,))
    SpeechT5ForTextToSpeech(config).save_pretrained(folder)
    return folder


def _bark(folder):
    from transformers import BarkConfig, BarkModel, EncodecConfig
    from transformers.models.bark.configuration_bark import BarkCoarseConfig, BarkFineConfig, BarkSemanticConfig

    small = dict(hidden_size=16, num_layers=1, num_heads=2, block_size=32, input_vocab_size=64, output_vocab_size=64)
    config = BarkConfig(
        semantic_config=BarkSemanticConfig(**small).to_dict(), coarse_acoustics_config=BarkCoarseConfig(**small).to_dict(),
        fine_acoustics_config=BarkFineConfig(**small, n_codes_total=2, n_codes_given=1).to_dict(),
        codec_config=EncodecConfig(hidden_size=16, num_filters=4, codebook_size=64, upsampling_ratios=[2, 2]).to_dict(),
    )
    BarkModel(config).save_pretrained(folder)
    return folder


@pytest.mark.parametrize(
    "build, loader, holds, needs",
    [
        (lambda tmp: tiny.ensure("whisper"), TextToSpeech, "a whisper model (WhisperForConditionalGeneration), made for speech to text",
         "text to speech needs a VITS voice"),
        (_speecht5, TextToSpeech, "a speecht5 model (SpeechT5ForTextToSpeech)", "text to speech needs a VITS voice"),
        (_bark, TextToSpeech, "a bark model (BarkModel)", "text to speech needs a VITS voice"),
        (lambda tmp: tiny.ensure("tts"), SpeechToText, "a vits model (VitsModel), made for text to speech",
         "speech to text needs a Whisper model"),
        (lambda tmp: tiny.ensure("whisper"), LanguageModel, "a whisper model", "text generation needs a causal language model"),
        (lambda tmp: tiny.ensure("chat"), TextToImage, "a llama model (LlamaForCausalLM)", "image generation needs a diffusers pipeline"),
        (lambda tmp: tiny.ensure("sd"), TextToMusic, "a diffusers pipeline (StableDiffusionPipeline)", "music generation needs a MusicGen model"),
    ],
)
def test_a_folder_of_another_family_says_what_it_holds_and_what_the_task_needs(tmp_path, build, loader, holds, needs):
    folder = build(tmp_path)
    with pytest.raises(ModelLoadError) as caught:
        loader.from_pretrained(str(folder))
    message = str(caught.value)
    assert holds in message and needs in message
    assert "damaged" not in message and "incomplete" not in message


def test_a_lone_component_is_not_a_pipeline(tmp_path):
    from diffusers import StableDiffusionPipeline

    StableDiffusionPipeline.from_pretrained(str(tiny.ensure("sd"))).unet.save_pretrained(tmp_path / "unet")
    with pytest.raises(ModelLoadError, match=r"one part of a diffusers pipeline \(UNet2DConditionModel\)"):
        TextToImage.from_pretrained(str(tmp_path / "unet"))


def test_a_folder_of_the_right_family_that_fails_still_says_what_it_holds(tmp_path):
    import shutil

    folder = tmp_path / "voice"
    shutil.copytree(tiny.ensure("tts"), folder)
    (folder / "vocab.json").unlink()
    with pytest.raises(ModelLoadError, match=r"The folder holds a vits model \(VitsModel\)"):
        TextToSpeech.from_pretrained(str(folder))
