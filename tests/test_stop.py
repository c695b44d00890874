"""Stop in the audio and text tabs ends the model call itself, not only the page's wait for it.

The tab's handler is closed as gradio closes it on Stop (or a tab closed); the
call running in its worker must then end with Cancelled well before its natural end.
"""

import threading

import numpy as np
import pytest

from pipelines.errors import Cancelled
from studio.ui import build_app


class Watched:
    """The studio, with the outcome of each call of `name` recorded: "cancelled" or its result.

    The call starts once `closed` is set, once Stop is under way, whatever the machine's speed.
    """

    def __init__(self, studio, name: str):
        self._studio, self._name = studio, name
        self.outcome: list = []
        self.closed, self.ended = threading.Event(), threading.Event()

    def __getattr__(self, attribute):
        value = getattr(self._studio, attribute)
        if attribute != self._name:
            return value

        def watched(*args, **kwargs):
            try:
                self.closed.wait(60)
                result = value(*args, **kwargs)
                self.outcome.append(result)
                return result
            except Cancelled:
                self.outcome.append("cancelled")
                raise
            finally:
                self.ended.set()

        return watched


def handler(app, name: str):
    return next(d.fn for d in app.fns.values() if getattr(d.fn, "__name__", "") == name)


def stop_after_first_update(studio, method: str, tab_handler: str, *args):
    watched = Watched(studio, method)
    run = handler(build_app(watched), tab_handler)(*args)
    next(run)  # the first update: the call is under way in its worker
    # close() asks the call to stop, then waits for its worker: the call goes on while it waits.
    threading.Timer(0.5, watched.closed.set).start()
    run.close()  # what gradio does on Stop
    assert watched.ended.wait(120), "the call did not end"
    return watched.outcome


@pytest.mark.parametrize("method, tab_handler, args", [
    ("text_to_music", "text_to_music", ["calm piano", 120, 3.0, 1.0, 250, 1, "wav"]),
    ("speech_to_text", "speech_to_text", [(16_000, np.zeros(1, np.float32)), "transcribe", "en", True, 1, False]),
    ("text_to_text", "text_to_text", ["Le renard court.", "continue", "en", "", 0.7, 0.9, 50, 240, 1.0, 1]),
])
def test_stop_ends_the_model_call(studio, tmp_path, method, tab_handler, args):
    if method == "speech_to_text":  # ten minutes of sound: twenty windows, one at a time
        path = tmp_path / "long.wav"
        import soundfile as sf

        sf.write(path, 0.1 * np.random.default_rng(0).standard_normal(16_000 * 600).astype(np.float32), 16_000)
        args = [str(path), *args[1:]]
    before = set(studio.outputs.rglob("*"))
    [outcome] = stop_after_first_update(studio, method, tab_handler, *args)
    if method == "text_to_text":  # text stops as chat does: what was written so far, marked stopped
        assert outcome.params["finish_reason"] == "stopped" and outcome.params["tokens"] <= 1
    else:  # half a piece of music or half a transcript is not what was asked for
        assert outcome == "cancelled"
    assert set(studio.outputs.rglob("*")) == before  # nothing saved
