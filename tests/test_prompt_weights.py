"""Prompt weighting in AUTOMATIC1111's syntax and long prompts, on tiny SD 1.x and SDXL models."""

import numpy as np
import pytest
import torch

from pipelines import prompt_weights as pw
from pipelines.image import TextToImage
from studio import tiny

FOX = dict(seed=3, steps=2, width=64, height=64)
LONG = ", ".join(f"a red fox number {i} in the snow" for i in range(30))  # about 250 tokens


@pytest.fixture(scope="module", params=["sd", "sdxl"])
def t2i(request):
    return TextToImage.from_pretrained(str(tiny.ensure(request.param)))


def pixels(result):
    return np.asarray(result.images[0])


@pytest.mark.parametrize("text, parsed", [  # A1111's own examples (prompt_parser.parse_prompt_attention)
    ("normal text", [("normal text", 1.0)]),
    ("an (important) word", [("an ", 1.0), ("important", 1.1), (" word", 1.0)]),
    ("(unbalanced", [("unbalanced", 1.1)]),
    (r"\(literal\]", [("(literal]", 1.0)]),
    ("(unnecessary)(parens)", [("unnecessaryparens", 1.1)]),
    ("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).",
     [("a ", 1.0), ("house", 1.5730000000000004), (" ", 1.1), ("on", 1.0), (" a ", 1.1), ("hill", 0.55),
      (", sun, ", 1.1), ("sky", 1.4641000000000006), (".", 1.1)]),
    ("a fox BREAK a cat", [("a fox", 1.0), ("BREAK", -1.0), ("a cat", 1.0)]),
    ("[word]", [("word", 1 / 1.1)]),
])
def test_parser_reads_a1111_syntax(text, parsed):
    assert pw.parse(text) == parsed


def test_weight_one_gives_the_pixels_of_the_bare_word_and_other_weights_differ(t2i):
    fox = pixels(t2i("fox", **FOX))
    assert np.array_equal(fox, pixels(t2i("(fox:1.0)", **FOX)))
    assert not np.array_equal(fox, pixels(t2i("(fox:1.5)", **FOX)))
    assert not np.array_equal(fox, pixels(t2i("[fox]", **FOX)))


def test_a_plain_prompt_encodes_as_diffusers_does(t2i):
    """The weighted path on a prompt without weights gives diffusers' own embeddings, bit for bit."""
    ours = pw.encode(t2i.pipe, [pw.parse("a red fox")], pw.parse("blurry"))
    theirs = t2i.pipe.encode_prompt("a red fox", device="cpu", num_images_per_prompt=1,
                                    do_classifier_free_guidance=True, negative_prompt="blurry")
    assert torch.equal(ours["prompt_embeds"], theirs[0]) and torch.equal(ours["negative_prompt_embeds"], theirs[1])


def test_plain_prompts_still_go_to_diffusers_as_text(t2i):
    text, notices = pw.conditioning(t2i.pipe, ["a red fox"], "blurry")
    assert text == {"prompt": "a red fox", "negative_prompt": "blurry"} and notices == []
    text, _ = pw.conditioning(t2i.pipe, [r"a \(red\) fox"], None)
    assert text["prompt"] == "a (red) fox"


def test_a_long_prompt_is_encoded_in_chunks_without_a_cut(t2i):
    chunks = pw.chunks(t2i.pipe.tokenizer, pw.parse(LONG))
    assert len(chunks) >= 3 and all(len(ids) == 77 for ids, _ in chunks)
    embeds = pw.encode(t2i.pipe, [pw.parse(LONG)], None)["prompt_embeds"]
    assert embeds.shape[1] == 77 * len(chunks)
    result = t2i(LONG, **FOX)
    assert "notices" not in result.params and result.params["prompt"] == LONG
    changed_at_the_end = t2i(LONG + ", a blue cat", **FOX)  # past token 77: would be cut before
    assert not np.array_equal(pixels(result), pixels(changed_at_the_end))


def test_chunks_break_after_the_last_comma_and_at_break():
    tokenizer = TextToImage.from_pretrained(str(tiny.ensure("sd"))).pipe.tokenizer
    comma = tokenizer.get_vocab()[",</w>"]
    for ids, _ in pw.chunks(tokenizer, pw.parse(LONG))[:-1]:
        body = [t for t in ids[1:] if t not in (tokenizer.eos_token_id, tokenizer.pad_token_id)]
        assert body[-1] == comma  # each full chunk ends on a comma: no phrase is split
    assert len(pw.chunks(tokenizer, pw.parse("a fox BREAK a cat"))) == 2
    assert len(pw.chunks(tokenizer, pw.parse("a fox, a cat"))) == 1


def test_break_and_negative_weights_change_the_image(t2i):
    base = pixels(t2i("a fox, a cat", **FOX))
    assert not np.array_equal(base, pixels(t2i("a fox BREAK a cat", **FOX)))
    assert not np.array_equal(base, pixels(t2i("a fox, a cat", negative_prompt="(blurry:1.4)", **FOX)))


def test_emphasis_scales_tokens_and_restores_the_mean():
    z = torch.rand(1, 77, 8) + 0.5
    weights = [1.0] * 77
    weights[3] = 1.5
    out = pw.emphasis(z, weights)
    assert torch.allclose(out.mean(), z.mean())
    assert torch.allclose(out[0, 3] / out[0, 2], 1.5 * z[0, 3] / z[0, 2])
    assert pw.emphasis(z, [1.0] * 77) is z


def test_batched_prompts_of_different_lengths(t2i):
    results = t2i.many(["(fox:1.2)", LONG], [1, 2], steps=2)
    assert [r.params["prompt"] for r in results] == ["(fox:1.2)", LONG]
