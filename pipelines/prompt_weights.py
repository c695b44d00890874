"""Prompt weighting in AUTOMATIC1111's syntax, and prompts longer than the text encoder's 77 tokens.

`(word:1.3)` multiplies a word's weight by 1.3, `(word)` by 1.1, `[word]` divides it
by 1.1, brackets nest, `\\(` and `\\)` are literal brackets, and `BREAK` starts a new
chunk. A prompt is split into chunks of 75 tokens (plus start and end), breaking
at the last comma when one is within 20 tokens, each chunk encoded on its own and
the results joined: nothing is cut. Weights scale the token embeddings, then the
mean is restored (A1111's "Original" emphasis).

compel does the same job with its own syntax (`(word)1.3`, `word++`); it reads
neither A1111's brackets nor `BREAK`, splits long prompts at sentences rather than
A1111's commas, and weights by moving towards the empty prompt's embedding, so its
pixels would not be A1111's. The parser here is A1111's own (`prompt_parser.
parse_prompt_attention`, a few lines); the text encoders do the embedding.

A prompt without weights, `BREAK` or more than 75 tokens is handed to diffusers as
text (its brackets' escapes resolved), exactly as before: same pixels. Only SD 1.x,
2.x and SDXL pipelines (CLIP text encoders) are weighted; for others the prompt
goes through as written, with a notice if it uses the syntax.
"""

from __future__ import annotations

import re
from typing import Any

CHUNK = 75  # tokens per chunk, without the start and end tokens
COMMA_BACKTRACK = 20  # A1111's comma_padding_backtrack
BREAK = ("BREAK", -1.0)

_ATTENTION = re.compile(
    r"""
\\\(|\\\)|\\\[|\\]|\\\\|\\|\(|\[|:\s*([+-]?[.\d]+)\s*\)|\)|]|[^\\()\[\]:]+|:
""",
    re.X,
)
_BREAK = re.compile(r"\s*\bBREAK\b\s*", re.S)


def parse(text: str) -> list[tuple[str, float]]:
    """A1111's `parse_prompt_attention`: [(fragment, weight), ...]; ("BREAK", -1) marks a BREAK.

    >>> parse("an (important) word")
    [('an ', 1.0), ('important', 1.1), (' word', 1.0)]
    """
    parts: list[list[Any]] = []
    round_open: list[int] = []
    square_open: list[int] = []

    def multiply(start: int, factor: float) -> None:
        for part in parts[start:]:
            part[1] *= factor

    for match in _ATTENTION.finditer(text):
        piece, weight = match.group(0), match.group(1)
        if piece.startswith("\\"):
            parts.append([piece[1:], 1.0])
        elif piece == "(":
            round_open.append(len(parts))
        elif piece == "[":
            square_open.append(len(parts))
        elif weight is not None and round_open:
            multiply(round_open.pop(), float(weight))
        elif piece == ")" and round_open:
            multiply(round_open.pop(), 1.1)
        elif piece == "]" and square_open:
            multiply(square_open.pop(), 1 / 1.1)
        else:
            for i, fragment in enumerate(_BREAK.split(piece)):
                if i > 0:
                    parts.append(list(BREAK))
                parts.append([fragment, 1.0])
    for start in round_open:
        multiply(start, 1.1)
    for start in square_open:
        multiply(start, 1 / 1.1)
    if not parts:
        parts = [["", 1.0]]
    merged = [parts[0]]
    for part in parts[1:]:  # runs of one weight become one fragment
        if part[1] == merged[-1][1] and tuple(part) != BREAK and tuple(merged[-1]) != BREAK:
            merged[-1][0] += part[0]
        else:
            merged.append(part)
    return [(fragment, float(weight)) for fragment, weight in merged]


def plain_text(parsed: list[tuple[str, float]]) -> str:
    return "".join(fragment for fragment, weight in parsed if (fragment, weight) != BREAK)


def chunks(tokenizer, parsed: list[tuple[str, float]]) -> list[tuple[list[int], list[float]]]:
    """A1111's `tokenize_line`: chunks of (77 token ids, 77 weights), start and end tokens included."""
    comma = tokenizer.get_vocab().get(",</w>")
    start, end = tokenizer.bos_token_id, tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else end
    texts = [fragment for fragment, _ in parsed]
    tokenized = tokenizer(texts, truncation=False, add_special_tokens=False, verbose=False).input_ids
    done: list[tuple[list[int], list[float]]] = []
    ids: list[int] = []
    weights: list[float] = []
    last_comma = -1

    def close() -> None:
        nonlocal ids, weights, last_comma
        # The end token right after the prompt, then padding (SD 1.x pads with the end token, SD 2.x and SDXL's
        # second encoder with their own): as diffusers' own tokenisation does.
        body = [*ids, end, *[pad] * (CHUNK - len(ids))]
        done.append(([start, *body], [1.0, *weights, 1.0, *[1.0] * (CHUNK - len(weights))]))
        ids, weights, last_comma = [], [], -1

    for tokens, (fragment, weight) in zip(tokenized, parsed, strict=True):
        if (fragment, weight) == BREAK:
            close()
            continue
        for token in tokens:
            if token == comma:
                last_comma = len(ids)
            elif len(ids) == CHUNK and last_comma != -1 and len(ids) - last_comma <= COMMA_BACKTRACK:
                # Break after the last comma: the words after it move to the next chunk whole.
                moved_ids, moved_weights = ids[last_comma + 1:], weights[last_comma + 1:]
                ids, weights = ids[:last_comma + 1], weights[:last_comma + 1]
                close()
                ids, weights = moved_ids, moved_weights
            if len(ids) == CHUNK:
                close()
            ids.append(token)
            weights.append(weight)
    if ids or not done:
        close()
    return done


def needs_encoding(tokenizer, parsed: list[tuple[str, float]]) -> bool:
    """Whether diffusers' own text path would get it wrong: weights, BREAK, or more than one chunk."""
    if any(weight != 1.0 for _, weight in parsed):
        return True
    return len(tokenizer(plain_text(parsed), truncation=False, add_special_tokens=False, verbose=False).input_ids) > CHUNK


def supported(pipe) -> bool:
    """SD 1.x/2.x and SDXL pipelines: CLIP tokenizers and text encoders diffusers' SD pipelines drive."""
    name = type(pipe).__name__
    return (name.startswith(("StableDiffusion", "StableDiffusionXL")) and not name.startswith("StableDiffusion3")
            and _encoders(pipe) != [])


def _encoders(pipe) -> list[tuple[Any, Any]]:
    pairs = [(getattr(pipe, "tokenizer", None), getattr(pipe, "text_encoder", None)),
             (getattr(pipe, "tokenizer_2", None), getattr(pipe, "text_encoder_2", None))]
    return [(tokenizer, encoder) for tokenizer, encoder in pairs if tokenizer is not None and encoder is not None]


def conditioning(pipe, prompts: list[str], negative: str | None) -> tuple[dict[str, Any], list[str]]:
    """The keywords that give `pipe` its prompts (text, or embeddings), and any notices.

    `prompts`: one or more prompts of one batch; `negative`: one negative prompt for all, or None.
    """
    if not supported(pipe):
        uses = [p for p in [*prompts, negative or ""] if _uses_syntax(p)]
        notices = ["prompt weights ((word:1.3), [word], BREAK) are not read by this model; the prompt was used as written"] if uses else []
        return _as_text(prompts, negative), notices + _cut_notices(pipe, prompts)
    parsed = [parse(p) for p in prompts]
    parsed_negative = parse(negative) if negative else None
    tokenizer = _encoders(pipe)[0][0]
    if not any(needs_encoding(tokenizer, p) for p in [*parsed, *([parsed_negative] if parsed_negative else [])]):
        # diffusers' own path, on the text with escapes resolved: the pixels of a plain prompt are unchanged.
        negative_text = plain_text(parsed_negative) if parsed_negative else None
        return _as_text([plain_text(p) for p in parsed], negative_text), []
    return encode(pipe, parsed, parsed_negative), []


def _uses_syntax(prompt: str) -> bool:
    return parse(prompt) != [(prompt, 1.0)]


def _cut_notices(pipe, prompts: list[str]) -> list[str]:
    tokenizer = getattr(pipe, "tokenizer", None)
    if tokenizer is None:
        return []
    limit = tokenizer.model_max_length
    if any(len(tokenizer(p, verbose=False).input_ids) > limit for p in prompts):
        return [f"prompt is longer than the text encoder's {limit} tokens; the rest was ignored"]
    return []


def _as_text(prompts: list[str], negative: str | None) -> dict[str, Any]:
    return {
        "prompt": prompts if len(prompts) > 1 else prompts[0],
        "negative_prompt": [negative] * len(prompts) if negative and len(prompts) > 1 else negative,
    }


def encode(pipe, parsed: list[list[tuple[str, float]]], parsed_negative) -> dict[str, Any]:
    """prompt_embeds (and SDXL's pooled embeddings) for the prompts and the negative prompt, chunked and weighted."""
    import torch

    xl = getattr(pipe, "text_encoder_2", None) is not None
    per_encoder_positive, per_encoder_negative, pooled_positive, pooled_negative = [], [], None, None
    zero_negative = parsed_negative is None and xl and bool(getattr(pipe.config, "force_zeros_for_empty_prompt", False))
    with torch.no_grad():
        for tokenizer, encoder in _encoders(pipe):
            with_pool = xl and encoder is getattr(pipe, "text_encoder_2", None)
            empty = _encode_chunks(encoder, chunks(tokenizer, [("", 1.0)]), xl)[0]
            positives = [_encode_chunks(encoder, chunks(tokenizer, p), xl) for p in parsed]
            negative = _encode_chunks(encoder, chunks(tokenizer, parsed_negative or [("", 1.0)]), xl)
            length = max(z.shape[1] for z, _ in [*positives, negative])
            per_encoder_positive.append(torch.cat([_pad(z, empty, length) for z, _ in positives]))
            per_encoder_negative.append(_pad(negative[0], empty, length).expand(len(parsed), -1, -1))
            if with_pool:
                pooled_positive = torch.cat([pooled for _, pooled in positives])
                pooled_negative = negative[1].expand(len(parsed), -1)
    prompt_embeds = torch.cat(per_encoder_positive, dim=-1)
    negative_embeds = torch.cat(per_encoder_negative, dim=-1)
    if zero_negative:  # as diffusers does for SDXL with no negative prompt
        negative_embeds, pooled_negative = torch.zeros_like(negative_embeds), torch.zeros_like(pooled_negative)
    kwargs = {"prompt_embeds": prompt_embeds, "negative_prompt_embeds": negative_embeds.contiguous()}
    if xl:
        kwargs.update(pooled_prompt_embeds=pooled_positive, negative_pooled_prompt_embeds=pooled_negative.contiguous())
    return kwargs


def _encode_chunks(encoder, prompt_chunks, xl: bool):
    """(1, 77 x chunks, width) embeddings, weighted, and the pooled embedding of the first chunk (SDXL)."""
    import torch

    zs, pooled = [], None
    for ids, weights in prompt_chunks:
        tokens = torch.tensor([ids], device=encoder.device)
        if xl:  # SDXL reads the penultimate layer of both encoders, pooled from the second
            output = encoder(tokens, output_hidden_states=True)
            z = output.hidden_states[-2]
            pooled = output[0] if pooled is None else pooled
        else:
            z = encoder(tokens)[0]
        zs.append(emphasis(z, weights))
    return torch.cat(zs, dim=1), pooled


def emphasis(z, weights: list[float]):
    """A1111's "Original" emphasis: each token's embedding times its weight, then the overall mean restored."""
    import torch

    if all(weight == 1.0 for weight in weights):
        return z
    multipliers = torch.tensor(weights, dtype=z.dtype, device=z.device).reshape(1, -1, 1)
    original_mean, weighted = z.mean(), z * multipliers
    new_mean = weighted.mean()
    # A mean of about zero (a text encoder whose last layer norm has no bias) cannot be restored: A1111 would
    # divide by it and draw noise; the weights alone are kept then.
    if new_mean.abs() <= 1e-4 * weighted.abs().mean():
        return weighted
    return weighted * (original_mean / new_mean)


def _pad(z, empty, length: int):
    """`z` lengthened to `length` tokens with chunks of the empty prompt, as A1111 pads cond and uncond."""
    import torch

    missing = (length - z.shape[1]) // empty.shape[1]
    return torch.cat([z, *[empty] * missing], dim=1) if missing else z
