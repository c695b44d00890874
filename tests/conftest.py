"""Shared fixtures: one tiny-preset studio per test session, offline.

The tiny models are built on first use into the studio cache (see studio/tiny/)
and loaded through the same `from_pretrained` path real models take.
"""

import os

# Before anything imports huggingface_hub or gradio: no network, no telemetry.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# float32 on CPU whatever the machine's bfloat16 and int8 units: one seed, one output on
# every test machine (tests of the automatic choice set it themselves).
os.environ["STUDIO_CPU_UNITS"] = "none"

import pytest  # noqa: E402

from studio import Studio  # noqa: E402


@pytest.fixture(scope="session")
def studio(tmp_path_factory) -> Studio:
    return Studio(preset="tiny", outputs=tmp_path_factory.mktemp("outputs"))


@pytest.fixture
def fresh_studio(tmp_path) -> Studio:
    """A studio with its own empty model cache and outputs folder."""
    return Studio(preset="tiny", outputs=tmp_path / "outputs")


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """`python app.py` on the tiny preset, started once for the test files that use the default settings.

    Files that need other settings (queue size, upload limit) define their own `server`.
    """
    from tests.support.server import AppServer

    app = AppServer(tmp_path_factory.mktemp("app"))
    yield app
    app.stop()


@pytest.fixture(scope="session")
def client(server):
    from gradio_client import Client

    return Client(server.url, verbose=False)
