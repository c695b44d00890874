"""Chat templates without a system role (Gemma 2) and multimodal LMs' context (Gemma 3), on tiny models."""

import json

import numpy as np
import pytest

from pipelines.text import LanguageModel
from studio import Studio, tiny
from studio.serving.batch import run_batch


@pytest.fixture(scope="module")
def gemma2():
    return LanguageModel.from_pretrained(str(tiny.ensure("gemma2")))


@pytest.fixture(scope="module")
def gemma_studio(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gemma")
    preset = folder / "gemma.toml"
    preset.write_text(
        '[text]\nmodel = "tiny:gemma2"\n[text.defaults]\nmax_new_tokens = 8\n'
        '[transcribe]\nmodel = "tiny:whisper"\n[transcribe.defaults]\nvad = false\n[speech.voices]\nen = "tiny:tts"\nfr = "tiny:tts"\n',
        encoding="utf-8",
    )
    return Studio(preset=str(preset), outputs=folder / "outputs")


def test_the_template_really_refuses_a_system_message(gemma2):
    from jinja2.exceptions import TemplateError

    with pytest.raises(TemplateError, match="System role not supported"):
        gemma2.tokenizer.apply_chat_template([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
                                             tokenize=False)


def test_the_system_prompt_is_folded_into_the_first_user_turn(gemma2):
    conversation = [{"role": "system", "content": "Answer in French."}, {"role": "user", "content": "Hello there"},
                    {"role": "assistant", "content": "Bonjour"}, {"role": "user", "content": "And now?"}]
    prompt = gemma2.tokenizer.decode(gemma2._chat_inputs(conversation)["input_ids"][0])
    assert "<start_of_turn>user\nAnswer in French.\n\nHello there<end_of_turn>" in prompt
    assert prompt.count("Answer in French.") == 1 and "<start_of_turn>system" not in prompt
    assert prompt.endswith("<start_of_turn>model\n")


def test_chat_with_a_system_prompt_and_every_text_mode_work(gemma2):
    reply = gemma2.chat("hi", system_prompt="Be brief.", seed=1, max_new_tokens=4)
    assert reply.params["system_prompt"] == "Be brief." and reply.params["tokens"] >= 1
    for mode in ("rewrite", "summarize", "translate"):
        result = gemma2.text_to_text("Le soleil brille sur la mer.", mode=mode, target_language="fr", seed=1, max_new_tokens=4)
        assert result.params["mode"] == mode and result.params["tokens"] >= 1


def test_a_template_with_a_system_role_keeps_it(studio):
    with studio._use("text", studio.model_ref("text"), LanguageModel.from_pretrained) as chat:
        prompt = chat.tokenizer.decode(chat._chat_inputs([{"role": "system", "content": "Rules."},
                                                          {"role": "user", "content": "hi"}])["input_ids"][0])
    assert "<|im_start|>system\nRules.<|im_end|>" in prompt


def test_speech_translation_into_french_goes_through_the_gemma_template(gemma_studio):
    rng = np.random.default_rng(0)
    audio = (16_000, (rng.standard_normal(3 * 16_000) * 0.1).astype(np.float32))
    spoken = gemma_studio.translate_speech(audio, language="fr", seed=1)
    assert spoken.params["task"] == "translate_speech"
    # The tiny Whisper hears this noise as another language, so the text model translates it.
    assert spoken.params["source_language"] != "fr"
    assert spoken.params["translate_model"] == "tiny:gemma2"  # named as the preset names it
    assert spoken.audio.size > 0


def test_batch_translate_jobs_run_on_the_gemma_template(gemma_studio, tmp_path):
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"task": "text_to_text", "text": "Bonjour à tous.", "mode": "translate",
                                "target_language": "en", "seed": 2}) + "\n", encoding="utf-8")
    counts = run_batch(jobs, tmp_path / "out", preset=str(gemma_studio.preset.path), progress=False)
    assert counts["done"] == 1 and counts["failed"] == 0


def test_a_multimodal_gemma3_reads_its_context_from_the_text_config():
    lm = LanguageModel.from_pretrained(str(tiny.ensure("gemma3")))
    assert type(lm.model).__name__ == "Gemma3ForConditionalGeneration"
    assert not hasattr(lm.model.config, "max_position_embeddings") or lm.model.config.max_position_embeddings != 128
    assert lm.context_length == 128
    with pytest.raises(ValueError, match="max_new_tokens must be between 1 and 127"):
        lm.chat("hi", max_new_tokens=128)
    assert lm.chat("hi", system_prompt="Be brief.", seed=1, max_new_tokens=3).params["tokens"] >= 1
