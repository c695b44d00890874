"""Chat: time to the first streamed piece and reply speed, studio against raw transformers.

The baseline is what a script would write with transformers alone on the same
folder: `apply_chat_template`, `torch.manual_seed`, then `generate` with the
same sampling settings, streamed through a `TextIteratorStreamer` with
`generate` in a thread (or not streamed). Same seed and settings, so both
produce the same tokens: each row says whether they did. Runs alternate
(studio, raw, studio, raw, ...); medians with their spread; ratio = studio / raw
(above 1: the studio is slower).

`run(quick)` returns the rows; `python -m bench.text [--quick]` prints them.
"""

from __future__ import annotations

import statistics
import threading
import time

from bench.common import raw_format, raw_int8, row, side_by_side

MESSAGES = [{"role": "user", "content": "Bonjour, comment allez-vous aujourd'hui ?"}]
DECK = "Je suis allé voir Emilie. C'est une"


class Raw:
    """The same model loaded with plain transformers, called as a script would."""

    def __init__(self, folder: str, settings: dict, studio):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        loaded = AutoModelForCausalLM.from_pretrained(folder, use_safetensors=True, **raw_format(studio, "language_model"))
        self.model = raw_int8(studio, loaded.eval())  # in the studio's format
        self.inputs = self.tokenizer.apply_chat_template(MESSAGES, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        # The studio's sampling settings carry generate's own names (the seed apart).
        self.kwargs = {"do_sample": True, **{name: value for name, value in settings.items() if name != "seed"}}
        self.seed = settings["seed"]

    def reply(self) -> str:
        import torch

        torch.manual_seed(self.seed)
        output = self.model.generate(**self.inputs, **self.kwargs)
        return self.tokenizer.decode(output[0, self.inputs["input_ids"].shape[1]:], skip_special_tokens=True)

    def stream(self) -> tuple[float, float, str]:
        """Seconds to the first non-empty piece, seconds for the whole reply, the reply."""
        import torch
        from transformers import TextIteratorStreamer

        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        start = time.perf_counter()
        torch.manual_seed(self.seed)
        worker = threading.Thread(target=self.model.generate, kwargs={**self.inputs, **self.kwargs, "streamer": streamer})
        worker.start()
        return _consume(streamer, start, worker.join)

    def next_token(self, top_k: int):
        import torch

        inputs = self.tokenizer(DECK, return_tensors="pt")
        with torch.inference_mode():
            logits = self.model(**inputs).logits[0, -1]
            logits[self.model.generation_config.suppress_tokens or []] = -float("inf")
            return torch.softmax(logits, -1).topk(top_k)


def _consume(pieces, start: float, finish=None) -> tuple[float, float, str]:
    first, text = None, []
    for piece in pieces:
        if piece and first is None:
            first = time.perf_counter() - start
        text.append(piece)
    if finish is not None:
        finish()
    return first or float("nan"), time.perf_counter() - start, "".join(text)


def streaming(studio, raw: Raw, settings: dict, runs: int) -> list[dict]:
    """Time to the first piece and time for the whole streamed reply, alternating."""
    def studio_stream():
        start = time.perf_counter()
        return _consume(studio.stream_chat(MESSAGES, **settings), start)

    studio_stream()
    raw.stream()  # warm both
    firsts, wholes, texts = ([], []), ([], []), ([], [])
    for _ in range(runs):
        for side, call in enumerate((studio_stream, raw.stream)):
            first, whole, text = call()
            firsts[side].append(first)
            wholes[side].append(whole)
            texts[side].append(text)
    same = "same text" if set(texts[0]) == set(texts[1]) and len(set(texts[0])) == 1 else "TEXTS DIFFER"
    tokens = studio.chat(MESSAGES, **settings).params["tokens"]
    speeds = [tokens / statistics.median(w) for w in wholes]
    return [
        row("chat: time to the first streamed piece, studio / raw streamer", *firsts, note=same),
        row(f"chat: streamed reply of {tokens} tokens, studio / raw streamer", *wholes,
            note=f"{speeds[0]:.1f} vs {speeds[1]:.1f} tokens/s; {same}"),
    ]


def whole_reply(studio, raw: Raw, settings: dict, runs: int) -> dict:
    result = studio.chat(MESSAGES, **settings)
    same = "same text" if result.text == raw.reply() else "TEXTS DIFFER"
    measured = side_by_side(f"chat: reply of {result.params['tokens']} tokens (not streamed), studio / raw generate",
                            lambda: studio.chat(MESSAGES, **settings), raw.reply, runs=runs)
    speeds = [result.params["tokens"] / measured[side] for side in ("studio", "raw")]
    measured["note"] = f"{speeds[0]:.1f} vs {speeds[1]:.1f} tokens/s; {same}"
    return measured


def next_token(studio, raw: Raw, runs: int) -> dict:
    table = studio.next_token(DECK, top_k=10)
    expected = raw.next_token(10)
    same = "same tokens" if [t for t, _ in table] == [raw.tokenizer.decode([i]) for i in expected.indices.tolist()] else "TABLES DIFFER"
    return side_by_side("next_token table (10 rows), studio / raw forward + softmax",
                        lambda: studio.next_token(DECK, top_k=10), lambda: raw.next_token(10), runs=runs,
                        note=f"{same}; the studio runs one step of generate to apply the model's own rules")


def run(quick: bool, preset: str = "tiny", real_size: bool = False) -> list[dict]:
    """Rows of name, studio, raw (median seconds), ratio, spreads, unit, note."""
    from pipelines.loading import quiet_libraries
    from studio import Studio

    quiet_libraries()
    studio = Studio(preset=preset)
    runs = 3 if real_size else (5 if quick else 9)
    # Every sampling setting, the declared defaults for those not named: the raw script sets them all, as the studio does.
    declared = {s.name: s.default for s in studio.settings("chat") if s.name in studio.settings("text_to_text")}
    settings = {**declared, "seed": 1, "temperature": 0.7, "top_p": 0.9, "top_k": 50, "max_new_tokens": 32 if real_size else 64}
    raw = Raw(studio.model_ref("text"), settings, studio)
    rows = streaming(studio, raw, settings, runs)
    rows.append(whole_reply(studio, raw, settings, runs))
    rows.append(next_token(studio, raw, runs))
    return rows


if __name__ == "__main__":
    import os
    import sys

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    for item in run("--quick" in sys.argv):
        print(f"{item['name']}: {item['ratio']:.3f}x ({item['studio']:.4f} vs {item['raw']:.4f} {item['unit']}) {item['note']}")
