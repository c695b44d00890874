"""The OpenVINO side of bench.peers' chat rows: run by a python that has optimum-intel (`OPENVINO_PYTHON`).

`python bench/openvino_peer.py FOLDER` exports the transformers folder FOLDER with optimum-intel's own
export (`OVModelForCausalLM.from_pretrained(..., export=True)`, its default weight format for a model of
this size), and a copy with int8 weights (`OVWeightQuantizationConfig(bits=8)`, what `--weight-format int8`
gives), prints `{"ready": ...}`, then answers each JSON line on stdin, `{"weights": "default" | "int8",
"ids": [...], "tokens": n}`, with one line `{"seconds": s, "tokens": k}`: greedy generation of n new
tokens from the prompt `ids`. The end tokens are banned until n (`min_new_tokens`), so both engines decode
as many tokens; the seconds are timed here, so the pipe's round trip is not counted.

It imports nothing from the studio: optimum-intel pins an older transformers than the studio's.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time


def load(folder: str) -> dict:
    """The exported model in optimum-intel's default weight format, and a copy with int8 weights."""
    from optimum.intel import OVModelForCausalLM, OVWeightQuantizationConfig

    exported = tempfile.mkdtemp()
    OVModelForCausalLM.from_pretrained(folder, export=True, compile=False).save_pretrained(exported)
    return {
        "default": OVModelForCausalLM.from_pretrained(exported),
        "int8": OVModelForCausalLM.from_pretrained(exported, quantization_config=OVWeightQuantizationConfig(bits=8)),
    }


def weight_format(model) -> str:
    """The element type of the model's largest weight, and the precision the CPU computes in."""
    import openvino

    constants = [op for op in model.model.get_ops() if op.get_type_name() == "Constant"]
    largest = max(constants, key=lambda op: math.prod(op.get_output_shape(0)))
    precision = openvino.Core().get_property("CPU", "INFERENCE_PRECISION_HINT").get_type_name()
    return f"{largest.get_output_element_type(0).get_type_name()} weights, {precision} compute"


def generate(model, ids: list[int], tokens: int) -> dict:
    import torch

    prompt = torch.tensor([ids])
    start = time.perf_counter()
    output = model.generate(prompt, attention_mask=torch.ones_like(prompt), do_sample=False,
                            max_new_tokens=tokens, min_new_tokens=tokens)
    return {"seconds": time.perf_counter() - start, "tokens": output.shape[1] - prompt.shape[1]}


def main() -> None:
    from importlib.metadata import version

    # Replies go to the real stdout; whatever the libraries print goes to stderr, so it cannot break a reply.
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    models = load(sys.argv[1])

    def reply(answer: dict) -> None:
        replies.write(json.dumps(answer) + "\n")
        replies.flush()

    reply({"ready": {"openvino": version("openvino"), "optimum-intel": version("optimum-intel"),
                     "default_format": weight_format(models["default"])}})
    for line in sys.stdin:
        command = json.loads(line)
        reply(generate(models[command["weights"]], command["ids"], command["tokens"]))


if __name__ == "__main__":
    main()
