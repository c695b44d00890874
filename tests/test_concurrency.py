"""Concurrent users: many web clients at once, a flooded queue, and Python threads sharing one Studio.

Each request carries its own seed; whatever runs beside it, its result must be
exactly what the same request gives when it runs alone (pixels, samples, text),
so seeds and outputs never cross between users. A request the queue
cannot take gets the documented answer (HTTP 503 "Queue is full"; gradio_client
raises `QueueError`) at once instead of hanging, and the server serves on.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
import soundfile as sf
from gradio_client import Client
from gradio_client.exceptions import AppError
from gradio_client.utils import QueueError
from PIL import Image

from tests.support.server import AppServer

CLIENTS, REQUESTS_EACH = 24, 3
KINDS = ["image", "token", "speech", "chat"]
TEXTS = ["Je suis allé voir Emilie. C'est une", "The quick brown fox", "Il était une fois"]


def request(kind: str, n: int) -> tuple[str, dict]:
    """The endpoint and keywords of request `n` of a kind: every seed differs."""
    return {
        "image": ("/text_to_image", dict(prompt="a red fox", seed=1000 + n)),
        "token": ("/next_token", dict(text=TEXTS[n % len(TEXTS)], top_k=5)),
        "speech": ("/text_to_speech", dict(text="Bonjour à tous", seed=2000 + n)),
        "chat": ("/chat", dict(message="Bonjour", seed=3000 + n)),
    }[kind]


def alone(studio, kind: str, n: int):
    """What the same request gives run alone, in this process, as the endpoint would show it."""
    _, kw = request(kind, n)
    if kind == "image":
        return np.asarray(studio.text_to_image(kw["prompt"], seed=kw["seed"]).images[0])
    if kind == "token":
        return [probability for _, probability in studio.next_token(kw["text"], top_k=kw["top_k"])]
    if kind == "speech":
        return studio.text_to_speech(kw["text"], seed=kw["seed"])
    return studio.chat(kw["message"], seed=kw["seed"]).text


def shown(kind: str, output, studio, reference):
    """(what the endpoint returned, what the reference looks like after the same trip) for comparison."""
    if kind == "image":
        gallery, _, recipe = output
        return np.asarray(Image.open(gallery[0]["image"])), reference
    if kind == "token":
        return [row["confidence"] for row in output["confidences"]], pytest.approx(reference)
    if kind == "speech":
        path, _ = output
        [written] = studio.save(reference)  # the same 16-bit WAV the server wrote
        return sf.read(path, dtype="int16")[0].tolist(), sf.read(written, dtype="int16")[0].tolist()
    return output[1][-1]["content"], reference


def plan() -> list[list[tuple[str, int]]]:
    """Three mixed requests per client, numbered so no two share a seed."""
    return [[(KINDS[(c + r) % len(KINDS)], c * REQUESTS_EACH + r) for r in range(REQUESTS_EACH)] for c in range(CLIENTS)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    app = AppServer(tmp_path_factory.mktemp("busy-app"), "--queue-size", str(CLIENTS * REQUESTS_EACH + 8))
    yield app
    app.stop()


def test_every_user_gets_exactly_the_result_of_their_own_request(server, studio):
    start = threading.Barrier(CLIENTS)
    # Each client reads the app's 600 KB config as it connects: connected one after the other, so
    # 24 page loads at once on two cores do not run past httpx's 5 s read timeout; the requests
    # below still all arrive at once.
    clients = iter([Client(server.url, verbose=False) for _ in range(CLIENTS)])

    def user(requests):
        client = next(clients)
        start.wait(timeout=120)  # everyone submits at once
        jobs = [(kind, n, client.submit(**request(kind, n)[1], api_name=request(kind, n)[0])) for kind, n in requests]
        outcomes = []
        for kind, n, job in jobs:
            try:
                outcomes.append((kind, n, job.result(timeout=180)))
            except (QueueError, AppError) as error:
                outcomes.append((kind, n, error))
        return outcomes

    with ThreadPoolExecutor(CLIENTS) as pool:
        outcomes = [o for found in pool.map(user, plan()) for o in found]

    assert len(outcomes) == CLIENTS * REQUESTS_EACH
    failed = [(kind, n, str(o)) for kind, n, o in outcomes if isinstance(o, Exception)]
    assert not failed  # the queue holds them all: none is refused, none fails
    for kind, n, output in outcomes:
        got, expected = shown(kind, output, studio, alone(studio, kind, n))
        assert np.array_equal(got, expected) if kind == "image" else got == expected, (kind, n)
    # and the server still serves, with nothing in its log but requests
    gallery, _, recipe = Client(server.url, verbose=False).predict(prompt="after", seed=5, api_name="/text_to_image")
    assert recipe["seed"] == 5 and "Traceback" not in server.log.read_text()


def test_a_full_queue_refuses_at_once_with_the_documented_answer(tmp_path):
    app = AppServer(tmp_path, "--queue-size", "2")
    slow = dict(prompt="a fox", steps=20, width=128, height=128)  # about a second each on a quiet 2-core machine
    try:
        clients = [Client(app.url, verbose=False) for _ in range(8)]
        jobs = [c.submit(**slow, seed=i, api_name="/text_to_image") for i, c in enumerate(clients)]
        done, refused = [], []
        for seed, job in enumerate(jobs):
            try:
                _, _, recipe = job.result(timeout=120)  # a refusal comes at once; nothing waits forever
                done.append(recipe["seed"] == seed)  # and an accepted one is its own
            except QueueError as error:
                refused.append(str(error))
        assert done and all(done) and refused and len(done) + len(refused) == len(jobs)
        assert all("Queue is full" in message for message in refused)

        # Over plain HTTP the answer is 503 with the reason: one running, two waiting, the fourth refused.
        with httpx.Client(base_url=app.url, timeout=30) as http:
            answers = [http.post("gradio_api/queue/join", json={"data": ["a fox", "", 50, 7.5, 128, 128, i, 1, "default", 0, None, [], 0.8, False, 2.0, 0, 0.7, "latent", None, None, "canny", 1.0, 0, 1],
                                                                "fn_index": _fn_index(clients[0], "/text_to_image"),
                                                                "session_hash": f"flood{i}"})
                       for i in range(6)]
        codes = [a.status_code for a in answers]
        assert 503 in codes and codes[0] == 200, codes
        assert all("Queue is full" in a.json()["detail"] for a in answers if a.status_code == 503)

        # Once the queue drains, "try again" works: the server serves as before.
        for _ in range(120):
            try:
                _, _, recipe = clients[0].predict(prompt="after the flood", seed=3, api_name="/text_to_image")
                break
            except QueueError:
                time.sleep(0.5)
        assert recipe["seed"] == 3
        assert "Traceback" not in app.log.read_text()
    finally:
        app.stop()


def _fn_index(client: Client, api_name: str) -> int:
    return next(i for i, d in enumerate(client.config["dependencies"]) if d.get("api_name") == api_name.lstrip("/"))


def test_python_threads_sharing_one_studio_each_get_their_own_result(studio):
    calls = [
        lambda: studio.chat("Bonjour", seed=11).text,
        lambda: studio.chat("Bonjour", seed=12).text,
        lambda: studio.text_to_speech("Bonjour à tous", seed=21).audio,
        lambda: studio.text_to_speech("Bonjour à tous", seed=22).audio,
        lambda: studio.text_to_music("calm piano", duration=0.5, seed=31).audio,
        lambda: studio.text_to_music("calm piano", duration=0.5, seed=32).audio,
        lambda: np.asarray(studio.text_to_image("a red fox", seed=41).images[0]),
        lambda: np.asarray(studio.text_to_image("a red fox", seed=42).images[0]),
    ]
    references = [call() for call in calls]
    start = threading.Barrier(len(calls))

    def run(call):
        start.wait(timeout=60)
        return call()

    for first in (True, False):  # the first round also races to load the models
        if first:
            studio.unload()
        with ThreadPoolExecutor(len(calls)) as pool:
            results = list(pool.map(run, calls))
        for result, reference in zip(results, references, strict=True):
            assert np.array_equal(result, reference) if isinstance(reference, np.ndarray) else result == reference
    assert not np.array_equal(references[0 + 2], references[1 + 2])  # the seeds did differ


def test_threads_saving_at_once_never_overwrite_each_other(studio, tmp_path):
    from studio import Studio

    target = Studio(preset="tiny", outputs=tmp_path / "outputs")
    results = [studio.chat("Bonjour", seed=seed, max_new_tokens=4) for seed in range(16)]  # .json and .md each
    start = threading.Barrier(len(results))

    def save(result):
        start.wait(timeout=60)
        return target.save(result)

    with ThreadPoolExecutor(len(results)) as pool:
        paths = [path for saved in pool.map(save, results) for path in saved]
    assert len(set(paths)) == 2 * len(results)
    assert sorted(Studio.read_recipe(p)["seed"] for p in paths if p.suffix == ".json") == list(range(16))
    assert all(p.with_suffix(".json") in paths for p in paths)  # each .md beside its own .json
    assert not [p for p in (tmp_path / "outputs").rglob(".tmp-*")]
