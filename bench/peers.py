"""Peer engines, where installed: the studio against the engine a user would otherwise pick.

- faster-whisper (CTranslate2): the same whisper-base architecture and weights,
  converted with CTranslate2's own converter, on the CPU in float32 (the studio's
  format here) and in int8 (what faster-whisper users run): its batched pipeline
  on the studio's windows, decoding the same number of tokens in each.
- llama.cpp (llama-cpp-python): the same chat weights converted to GGUF Q8_0 by
  llama.cpp's own converter (`LLAMA_CPP_CONVERTER`: the path to its
  convert_hf_to_gguf.py), greedy, on the CPU with every core, on the prompt the
  studio's chat template renders; the end token is banned on the llama.cpp side
  so both decode as many tokens (each row gives the counts).
- OpenVINO (optimum-intel): the same chat weights exported by optimum-intel's own
  export, in its default weight format and in int8 weights, greedy, on the CPU,
  from the same prompt token ids, its end tokens banned until as many tokens.
  optimum-intel pins an older transformers than the studio's, so it runs in a
  python of its own (`OPENVINO_PYTHON`): bench/openvino_peer.py, a subprocess
  that answers one generation per request and times it itself; studio and
  OpenVINO calls still alternate.

A peer that is not installed gives a row saying so (`pip install faster-whisper`,
`pip install llama-cpp-python`, a separate environment with
`pip install "optimum-intel[openvino]"` named by `OPENVINO_PYTHON`);
the project does not depend on any of them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.audio import _long_input
from bench.common import TOKENS_PER_WINDOW, side_by_side, transcribe_preset, whisper_decoding_every_token
from bench.text import MESSAGES


def run(quick: bool, *, preset: str, real_size: bool) -> list[dict]:
    from studio import Studio

    studio = Studio(preset=preset, outputs=tempfile.mkdtemp())
    tokens, runs = (16, 1) if quick else (64, 3)
    return (faster_whisper(studio, minutes=0.5 if quick else 2, runs=runs)
            + llama_cpp(studio, tokens=tokens, runs=runs)
            + openvino(studio, tokens=tokens, runs=runs))


def faster_whisper(studio, *, minutes: float, runs: int) -> list[dict]:
    """The studio's transcription against faster-whisper's batched pipeline, doing the same work.

    Random weights rarely say "end of text", and when they do the two engines say it
    at different moments, so both run a copy of the model whose generation config
    suppresses that token and allows `TOKENS_PER_WINDOW` new tokens: each engine then
    decodes exactly that many in each window. faster-whisper is handed the studio's
    own windows (`clip_timestamps`), batches of 8 on both sides, no timestamps,
    greedy, no fallback: the same windows, prompts and token counts. A third row
    times the encoder alone (transformers' against CTranslate2's), to show where the
    difference lies.
    """
    if importlib.util.find_spec("faster_whisper") is None or importlib.util.find_spec("ctranslate2") is None:
        return [{"name": "speech_to_text / faster-whisper", "note": "faster-whisper is not installed: pip install faster-whisper"}]
    import ctranslate2.converters
    from faster_whisper import BatchedInferencePipeline, WhisperModel
    from transformers import WhisperFeatureExtractor

    from pipelines.transcribe import windows
    from studio import Studio

    forced = whisper_decoding_every_token(studio.model_ref("transcribe"), TOKENS_PER_WINDOW)
    same_work = Studio(preset=transcribe_preset(forced), outputs=tempfile.mkdtemp())
    converted = os.path.join(tempfile.mkdtemp(), "ct2")
    shipped = [name for name in ("tokenizer.json", "preprocessor_config.json") if os.path.exists(os.path.join(forced, name))]
    ctranslate2.converters.TransformersConverter(forced, copy_files=shipped).convert(converted, quantization="float32")
    extractor = WhisperFeatureExtractor.from_pretrained(forced)
    rate = extractor.sampling_rate
    audio = _long_input(minutes, rate)
    cuts = windows(audio, rate, extractor.n_samples)  # the studio's own cuts (vad=False)
    clips = [{"start": w.start / rate, "end": w.end / rate} for w in cuts]
    language = "en"
    same_work.speech_to_text((rate, audio[:rate]), language=language)  # loads the model

    def studio_call():
        same_work.speech_to_text((rate, audio), batch_size=8, language=language, vad=False, timestamps=False)

    work = f"{len(cuts)} windows x {TOKENS_PER_WINDOW} tokens, batches of 8"
    rows = []
    for compute_type in ("float32", "int8"):
        peer = BatchedInferencePipeline(WhisperModel(converted, device="cpu", compute_type=compute_type,
                                                     cpu_threads=os.cpu_count() or 1))

        def peer_call(peer=peer):
            segments, _ = peer.transcribe(audio, language=language, batch_size=8, beam_size=1, temperature=0.0,
                                          without_timestamps=True, clip_timestamps=clips, vad_filter=False,
                                          max_new_tokens=TOKENS_PER_WINDOW, compression_ratio_threshold=None,
                                          log_prob_threshold=None, no_speech_threshold=None)
            list(segments)

        rows.append(side_by_side(f"speech_to_text {minutes:g} min, studio / faster-whisper {compute_type} ({work})",
                                 studio_call, peer_call, runs=runs,
                                 note="target <= 0.75 against int8" if compute_type == "int8" else "same windows and tokens"))
    features = extractor([audio[w.start : w.end] for w in cuts], sampling_rate=rate, return_tensors="pt").input_features
    rows.append(_encoders(forced, converted, features, runs=runs))
    return rows


def _encoders(transformers_folder: str, ctranslate2_folder: str, features, *, runs: int) -> dict:
    """The encoder alone on the windows' log-mel `features`: transformers' (what the studio runs) / CTranslate2 float32's."""
    import ctranslate2
    import torch
    from transformers import WhisperForConditionalGeneration

    encoder = WhisperForConditionalGeneration.from_pretrained(transformers_folder, use_safetensors=True).eval().model.encoder
    peer = ctranslate2.models.Whisper(ctranslate2_folder, device="cpu", compute_type="float32",
                                      intra_threads=os.cpu_count() or 1)
    stored = ctranslate2.StorageView.from_array(features.numpy())

    def studio_call():
        with torch.no_grad():
            encoder(features)

    return side_by_side(f"Whisper encoder alone, {len(features)} windows: transformers / CTranslate2 float32",
                        studio_call, lambda: peer.encode(stored), runs=runs,
                        note="the rest of each transcription row is decoding")


def llama_cpp(studio, *, tokens: int, runs: int) -> list[dict]:
    """The studio's greedy chat against llama.cpp on the same weights in Q8_0 (what llama.cpp users run on CPUs)."""
    converter = os.environ.get("LLAMA_CPP_CONVERTER", "")
    if importlib.util.find_spec("llama_cpp") is None or not os.path.isfile(converter):
        return [{"name": "chat / llama.cpp", "note": "llama-cpp-python is not installed: pip install llama-cpp-python, "
                 "and set LLAMA_CPP_CONVERTER to convert_hf_to_gguf.py in a llama.cpp checkout (its gguf-py is used)"}]
    from llama_cpp import Llama, LogitsProcessorList

    source = studio.model_ref("text")
    prompt = _prompt_ids(source)
    try:
        files = {outtype: _gguf(converter, source, outtype) for outtype in ("q8_0", "f32")}
    except RuntimeError as error:  # a row saying why, and the suite's other rows are kept
        return [{"name": "chat / llama.cpp", "note": str(error)}]
    peers = {outtype: Llama(path, n_ctx=len(prompt) + tokens + 8, n_threads=os.cpu_count() or 1, verbose=False)
             for outtype, path in files.items()}
    counts: dict[str, int] = {}
    studio_call = _studio_chat(studio, counts)

    def peer_call(n: int, peer=peers["q8_0"], side: str = "llama.cpp"):
        def no_end(_ids, logits):
            logits[peer.token_eos()] = -float("inf")  # random weights may end early; the studio side runs to n when it can
            return logits

        peer.reset()  # no prompt reuse from the previous run: the studio encodes the prompt every time too
        produced = 0
        for _ in peer.generate(prompt, top_k=1, temp=0.0, logits_processor=LogitsProcessorList([no_end])):
            produced += 1
            if produced == n:
                break
        counts[side] = produced

    rows = []
    for label, n in ((f"{tokens} new tokens", tokens), ("time to first token", 1)):
        row = side_by_side(f"chat, {label}: studio / llama.cpp Q8_0 (greedy)", lambda n=n: studio_call(n),
                           lambda n=n: peer_call(n), runs=runs, note=f"studio in {studio.dtype('language_model')}")
        row["note"] += f"; tokens: studio {counts['studio']}, llama.cpp {counts['llama.cpp']}"
        rows.append(row)
    row = side_by_side(f"chat, {tokens} new tokens: llama.cpp Q8_0 / llama.cpp F32 (greedy)", lambda: peer_call(tokens),
                       lambda: peer_call(tokens, peers["f32"], "f32"), runs=runs)
    row["note"] = f"what Q8_0 gains llama.cpp; tokens: Q8_0 {counts['llama.cpp']}, F32 {counts['f32']}"
    return rows + [row]


def _studio_chat(studio, counts: dict[str, int]) -> Callable[[int], None]:
    """The studio's greedy chat of n new tokens, recording how many it made in `counts["studio"]`."""
    def call(n: int) -> None:
        counts["studio"] = studio.chat(MESSAGES, seed=1, temperature=0, max_new_tokens=n).params["tokens"]

    return call


def _prompt_ids(source: str) -> list[int]:
    """The chat prompt as token ids: a peer then reads exactly the prompt the studio's template and tokenizer make."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(source).apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=True,
                                                                     return_dict=True)["input_ids"]


# Runs llama.cpp's converter, naming GPT-2's byte-level split where it does not know the tokenizer: the
# converter recognises pre-tokenizers by hashing a known text's tokens, and the bench models' small byte-level
# BPE (ByteLevel, GPT-2's regex) is in no list. The prompt reaches llama.cpp as token ids, so this names only
# what the file records.
_CONVERT = """
import os, runpy, sys
sys.argv = sys.argv[1:]
sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[0])))
from conversion.base import TextModel
known = TextModel.get_vocab_base_pre
def pre_tokenizer(self, tokenizer):
    try:
        return known(self, tokenizer)
    except NotImplementedError:
        return "gpt-2"
TextModel.get_vocab_base_pre = pre_tokenizer
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _gguf(converter: str, source: str, outtype: str) -> str:
    """`source` converted by llama.cpp's convert_hf_to_gguf.py into `outtype`, with the gguf-py package beside it."""
    path = os.path.join(tempfile.mkdtemp(), f"model-{outtype}.gguf")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [os.path.join(os.path.dirname(converter), "gguf-py"),
                                                                     os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", _CONVERT, converter, source, "--outtype", outtype, "--outfile", path],
                          env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"convert_hf_to_gguf.py failed: {(done.stderr.strip().splitlines() or ['no message'])[-1]}")
    return path


OPENVINO_SETUP = ("optimum-intel is not set up: it pins transformers < 5.6, so install it in an environment of its "
                  "own (python -m venv ov; ov/bin/pip install \"optimum-intel[openvino]\") and set "
                  "OPENVINO_PYTHON=ov/bin/python")


def openvino(studio, *, tokens: int, runs: int) -> list[dict]:
    """The studio's greedy chat against OpenVINO (optimum-intel) on the same weights, in its default format and int8."""
    python = os.environ.get("OPENVINO_PYTHON", "")
    if not _imports(python, "from optimum.intel import OVModelForCausalLM"):
        return [{"name": "chat / OpenVINO", "note": OPENVINO_SETUP}]
    source = studio.model_ref("text")
    prompt = _prompt_ids(source)
    try:
        peer = _OpenVINOPeer(python, source)
    except RuntimeError as error:  # a row saying why, and the suite's other rows are kept
        return [{"name": "chat / OpenVINO", "note": str(error)}]
    counts: dict[str, int] = {}
    studio_call = _studio_chat(studio, counts)

    def peer_call(n: int, weights: str) -> float:
        reply = peer.generate(weights, prompt, n)
        counts["OpenVINO"] = reply["tokens"]
        return reply["seconds"]

    rows = []
    try:
        for weights, label in (("default", f"default ({peer.default_format})"), ("int8", "int8 weights")):
            for measure, n in ((f"{tokens} new tokens", tokens), ("time to first token", 1)):
                item = side_by_side(f"chat, {measure}: studio / OpenVINO {label} (greedy)", lambda n=n: studio_call(n),
                                    lambda n=n, weights=weights: peer_call(n, weights), runs=runs, raw_times_itself=True)
                item["note"] = (f"studio in {studio.dtype('language_model')}; OpenVINO {peer.versions}; "
                                f"tokens: studio {counts['studio']}, OpenVINO {counts['OpenVINO']}")
                rows.append(item)
    except RuntimeError as error:  # the peer died mid-way: the rows so far, and why
        rows.append({"name": "chat / OpenVINO", "note": str(error)})
    finally:
        peer.close()
    return rows


def _imports(python: str, statement: str) -> bool:
    """Whether the interpreter `python` exists and runs `statement` (optimum.intel imports lazily: name a class)."""
    try:
        return subprocess.run([python, "-c", statement], capture_output=True).returncode == 0
    except OSError:  # no such interpreter (or an empty OPENVINO_PYTHON)
        return False


class _OpenVINOPeer:
    """bench/openvino_peer.py running in `python` on the exported `folder`: one greedy generation per request."""

    def __init__(self, python: str, folder: str):
        self.log = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: the export's warnings cannot fill it
        # The studio's PYTHONPATH is left out: that python has its own transformers and imports nothing from here.
        env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
        self.process = subprocess.Popen([python, str(Path(__file__).with_name("openvino_peer.py")), folder],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                        env=env)
        ready = self._reply()["ready"]
        self.versions = f"{ready['openvino']}, optimum-intel {ready['optimum-intel']}"
        self.default_format = ready["default_format"]

    def generate(self, weights: str, ids: list[int], tokens: int) -> dict:
        self.process.stdin.write(json.dumps({"weights": weights, "ids": ids, "tokens": tokens}) + "\n")
        self.process.stdin.flush()
        return self._reply()

    def _reply(self) -> dict:
        line = self.process.stdout.readline()
        if not line:  # the peer ended: its last line of stderr says why
            self.log.seek(0)
            last = (self.log.read().strip().splitlines() or ["no message"])[-1]
            raise RuntimeError(f"the OpenVINO peer failed (export or generation): {last}")
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()
        self.log.close()
