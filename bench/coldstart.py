"""Cold start: seconds from `python app.py` to the first HTTP 200, against a bare gradio app.

The bare app has the same tabs, each with a few components and no model code.
Both are started the same way in fresh processes, alternately. After the
studio's page answers, its header is read to check that no model is loaded.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

from bench.common import row, value_row

ROOT = Path(__file__).resolve().parent.parent
BARE_APP = textwrap.dedent("""
    import sys
    import gradio as gr
    tabs = ["Chat", "Text to Text", "Text to Image", "Image to Image", "Text to Speech", "Speech to Text",
            "Text to Music", "Audio to Audio", "History"]
    with gr.Blocks(title="bare") as app:
        gr.Markdown("# bare")
        with gr.Tabs():
            for name in tabs:
                with gr.Tab(name):
                    box = gr.Textbox(label="input")
                    out = gr.Textbox(label="output")
                    gr.Button("Run").click(lambda x: x, box, out)
    app.queue().launch(server_port=int(sys.argv[1]), prevent_thread_lock=False)
""")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _time_to_200(command: list[str], port: int, env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - start < 120:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as response:
                    if response.status == 200:
                        elapsed = time.perf_counter() - start
                        config = urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=5).read().decode()
                        return elapsed, config
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{command} did not answer within 120 s")
    finally:
        process.terminate()
        process.wait(timeout=30)


def run(quick: bool, preset: str = "tiny") -> list[dict]:
    env = {**os.environ, "STUDIO_PRESET": preset, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    studio_times, bare_times, loaded = [], [], []
    for _ in range(2 if quick else 5):
        port = _free_port()
        seconds, config = _time_to_200([sys.executable, "app.py", "--port", str(port)], port, env)
        studio_times.append(seconds)
        loaded.append("none yet" in config)
        port = _free_port()
        bare_times.append(_time_to_200([sys.executable, "-c", BARE_APP, str(port)], port, env)[0])
    return [
        row("cold start to first HTTP 200: python app.py / bare gradio app, same tabs", studio_times, bare_times,
            note="target <= 1.3"),
        value_row("models loaded when the page first answers", 0 if all(loaded) else 1, unit="models", target="0"),
    ]
