"""A tiny random-weight Whisper: `WhisperForConditionalGeneration` + `WhisperProcessor`.

The token layout copies the real multilingual checkpoints, because generation and
decoding find tokens by position, not by name: `<|endoftext|>` directly follows
the byte-level BPE text vocabulary (the timestamp logits processor masks every id
below it to forbid text), language ids are `<|startoftranscript|>` + 1 + their
index in `LANGUAGES`, and timestamps start right after `<|notimestamps|>`, the
last special token (the tokenizer and `generate` both compute it that way).

Random weights and timestamps: with plain random weights all logits are about
equal, so the 1501 timestamp tokens win plain argmax (text comes out empty) and
also win, at every step, the timestamp processor's test "summed timestamp
probability beats the best text token"; suppressing them (all ids from
`<|startoftranscript|>` up) gives text but leaves `return_timestamps=True` with
nothing legal to emit. So the output head is untied from the embeddings and
shaped, with one constant hidden unit serving as a per-token bias:
- text logits random N(0, 2^2): a text token always beats any single timestamp,
  so plain transcripts are text only (no timestamp tokens);
- `<|endoftext|>` a constant 5, a little under the usual best text logit: plain
  transcripts end after about 20 tokens (4 to 134 seen);
- timestamps a bias rising slowly up to `<|2.00|>` and falling steeply after it:
  from `<|1.00|>` on their summed mass beats the best text token now and then,
  which closes the segment after a few words, at the peak; from `<|2.00|>` on it
  is below `<|endoftext|>`, which ends the decoding there.
So `return_timestamps=True` gives `<|1.00|> w1 .. wn <|2.00|><|endoftext|>` for
every language, both tasks and any audio (the audio barely moves the decoder):
one segment (1.0, 2.0) of 1 to 10 text tokens, decoded in a single pass. (A pass
that ends on text or on two timestamps makes `generate` seek to the last
timestamp and decode again, even for a clip under 30 s; the concatenated
passes then give the ASR pipeline chunks with times running backwards.) Only
the ids `<|startoftranscript|>`..`<|notimestamps|>` and text pieces that decode to
unreadable bytes are suppressed. Whisper's `generate` decides sampling from
`temperature` (e.g. `temperature=1.0`), overriding `do_sample`; sampled outputs
do not keep this single-segment shape.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import (
    GenerationConfig,
    WhisperConfig,
    WhisperFeatureExtractor,
    WhisperForConditionalGeneration,
    WhisperProcessor,
    WhisperTokenizer,
)
from transformers.models.whisper.tokenization_whisper import LANGUAGES

from studio.tiny.corpus import SENTENCES


def _train_bpe() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Byte-level BPE vocab (ids 0..n-1, then `<|endoftext|>`) and merges from the corpus."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=1000, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    bpe.train_from_iterator(SENTENCES, trainer)
    vocab = dict(sorted(bpe.get_vocab().items(), key=lambda item: item[1]))
    vocab["<|endoftext|>"] = len(vocab)
    merges = [tuple(pair) for pair in json.loads(bpe.to_str())["model"]["merges"]]
    return vocab, merges


def build(folder: Path) -> None:
    torch.manual_seed(0)
    vocab, merges = _train_bpe()
    specials = [
        "<|startoftranscript|>",
        *(f"<|{code}|>" for code in LANGUAGES),
        "<|translate|>",
        "<|transcribe|>",
        "<|startoflm|>",
        "<|startofprev|>",
        "<|nospeech|>",
        "<|notimestamps|>",
    ]
    tokenizer = WhisperTokenizer(vocab=vocab, merges=merges, pad_token="<|endoftext|>", extra_special_tokens=specials)
    tokenizer.add_tokens([f"<|{i * 0.02:.2f}|>" for i in range(1501)])
    ids = tokenizer.convert_tokens_to_ids
    eot, sot, no_ts = ids("<|endoftext|>"), ids("<|startoftranscript|>"), ids("<|notimestamps|>")
    # lone bytes of a multi-byte character and control characters would print as noise
    pieces = tokenizer.batch_decode([[i] for i in range(eot)])
    unreadable = [i for i, piece in enumerate(pieces) if "\ufffd" in piece or not piece.isprintable()]

    config = WhisperConfig(
        vocab_size=len(tokenizer),
        num_mel_bins=80,
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_source_positions=1500,
        max_target_positions=448,
        pad_token_id=eot,
        bos_token_id=eot,
        eos_token_id=eot,
        decoder_start_token_id=sot,
        tie_word_embeddings=False,
    )
    model = WhisperForConditionalGeneration(config).eval()
    # Shape the output head (see the module docstring). `proj_out` has no bias, so
    # one unit of the decoder's final norm is pinned to 1 and column 0 acts as one.
    with torch.no_grad():
        norm = model.model.decoder.layer_norm
        norm.weight[0], norm.bias[0] = 0.0, 1.0
        head = model.proj_out.weight
        head.normal_(0, 0.36)  # text logits ~ N(0, 2^2): d_model - 1 = 31 random units
        head[:, 0] = 0.0
        head[eot] = 0.0
        head[eot, 0] = 5.0
        head[no_ts + 1 :] = 0.0
        steps = torch.arange(1501) - 100  # peak at <|2.00|>
        head[no_ts + 1 :, 0] = 2.4 + torch.where(steps < 0, 0.02 * steps, -2.0 * steps)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=sot,
        bos_token_id=eot,
        eos_token_id=eot,
        pad_token_id=eot,
        max_length=448,
        is_multilingual=True,
        lang_to_id={f"<|{code}|>": sot + 1 + i for i, code in enumerate(LANGUAGES)},
        task_to_id={"transcribe": ids("<|transcribe|>"), "translate": ids("<|translate|>")},
        no_timestamps_token_id=no_ts,
        prev_sot_token_id=ids("<|startofprev|>"),
        max_initial_timestamp_index=50,
        # the cross-attention heads whose alignment gives word times (the real checkpoints list theirs)
        alignment_heads=[[0, 0], [0, 1]],  # first timestamp within 1 s, as in the real checkpoints
        begin_suppress_tokens=[ids("Ġ"), eot],
        suppress_tokens=unreadable + list(range(sot, no_ts + 1)),
    )
    model.save_pretrained(folder)
    WhisperProcessor(WhisperFeatureExtractor(feature_size=80), tokenizer).save_pretrained(folder)
