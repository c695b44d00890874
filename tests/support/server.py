"""Starting `python app.py` on the tiny preset as a user would, and waiting for it to answer."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AppServer:
    def __init__(self, folder: Path, *extra: str, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.outputs = folder / "outputs"
        self.net_log = folder / "connections.log"
        self.log = folder / "server.log"
        environment = {k: v for k, v in os.environ.items()
                       if k not in ("GRADIO_ANALYTICS_ENABLED", "HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY")}
        environment.update({
            "STUDIO_PRESET": "tiny", "STUDIO_OUTPUTS": str(self.outputs), "STUDIO_NET_LOG": str(self.net_log),
            "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), str(ROOT)]),
        }, **(env or {}))
        self.process = subprocess.Popen([sys.executable, "app.py", "--port", str(self.port), *extra], cwd=ROOT,
                                        env=environment, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        self.wait()

    def wait(self, timeout: float = 300) -> None:  # a shared, busy machine starts it slowly
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the app exited:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the app did not answer in {timeout} s:\n{self.log.read_text()[-3000:]}")

    def connections(self) -> list[str]:
        return self.net_log.read_text().splitlines() if self.net_log.exists() else []

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
