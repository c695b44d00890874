"""The operations table the surfaces read, and the settings' declarations."""

import pytest

from pipelines.settings import SEED, Setting, Settings, checked
from studio import Studio, operations
from studio.serving import batch, cli


def test_the_cli_verbs_and_the_batch_tasks_come_from_the_table():
    verbs = cli.build_parser()._subparsers._group_actions[0].choices
    assert [v for v in verbs if v not in ("serve", "batch", "models")] == [op.verb for op in operations.TABLE if op.cli]
    assert set(batch.METHODS) == {op.name for op in operations.TABLE if op.batch}
    assert batch.AUDIO_TO_AUDIO == {"continue": "continue_music", "translate": "translate_speech"}
    assert batch.FAMILY["inpaint"] == batch.FAMILY["text_to_image"] < batch.FAMILY["upscale"] < batch.FAMILY["chat"]


def test_every_row_has_its_studio_method_and_its_wrapper_call():
    for op in operations.TABLE:
        assert callable(getattr(Studio, op.name)), op.name
        if op.wrapper and op.call:
            assert callable(op.wrapper_call()), op.name


def test_an_operation_has_one_name_from_the_studio_to_its_wrapper_call():
    from pipelines.music import TextToMusic

    named = {op.name: op.call for op in operations.TABLE if op.wrapper and op.call not in ("", "__call__")}
    assert all(call == name for name, call in named.items()), named  # chat, next_token, continue_music, ...
    assert TextToMusic.continue_audio is TextToMusic.continue_music  # the old name, for one release


def test_every_endpoint_of_the_app_is_a_row_of_the_table():
    from studio.ui import build_app

    app = build_app(Studio(preset="tiny"))
    endpoints = {name.strip("/") for name in app.get_api_info()["named_endpoints"]}
    assert {op.api_name for op in operations.TABLE if op.api_name} == endpoints


def test_a_declared_setting_is_checked_before_the_call_and_names_what_is_allowed():
    declared = Settings(Setting("rate", float, 1.0, low=0.5, high=2.0), SEED)

    @checked(declared)
    def speak(text, *, rate=declared.defaults.rate, seed=None):
        return rate, seed

    assert speak("hi", rate=2, seed=5) == (2.0, 5)
    assert isinstance(speak("hi")[1], int)  # a seed drawn
    with pytest.raises(ValueError, match=r"rate must be in \[0.5, 2\], got 3"):
        speak("hi", rate=3)


def test_a_signature_default_that_drifts_from_its_declaration_is_refused_at_import():
    declared = Settings(Setting("rate", float, 1.0, low=0.5, high=2.0))
    with pytest.raises(TypeError, match="rate defaults to 1.5, declared 1.0"):
        @checked(declared)
        def speak(text, *, rate=1.5):
            return rate


def test_settings_taken_as_keyword_arguments_are_shown_filled_in_and_checked():
    import inspect
    from typing import TypedDict, Unpack

    declared = Settings(Setting("rate", float, 1.0, low=0.5, high=2.0), Setting("pitch", int, 0, low=-12, high=12))

    class Voice(TypedDict, total=False):
        rate: float
        pitch: int

    @checked(declared)
    def speak(text, *, loud=False, **settings: Unpack[Voice]):
        return settings, loud

    shown = inspect.signature(speak).parameters
    assert list(shown) == ["text", "rate", "pitch", "loud"] and shown["pitch"].default == 0
    assert speak("hi") == ({"rate": 1.0, "pitch": 0}, False)
    assert speak("hi", pitch=3, loud=True) == ({"rate": 1.0, "pitch": 3}, True)
    with pytest.raises(ValueError, match="pitch must be between -12 and 12, got 13"):
        speak("hi", pitch=13)
    with pytest.raises(TypeError, match="volume"):
        speak("hi", volume=3)

    class Partial(TypedDict, total=False):
        rate: float

    with pytest.raises(TypeError, match="declared"):
        @checked(declared)
        def whisper(text, **settings: Unpack[Partial]):
            return settings


def test_the_image_calls_show_their_declared_settings():
    import inspect

    from pipelines.image import SETTINGS, TextToImage
    from pipelines.inpaint import Inpaint

    shown = inspect.signature(TextToImage.__call__).parameters
    assert shown["steps"].default == SETTINGS["steps"].default == 25 and shown["scheduler"].default == "default"
    assert "strength" not in shown and "width" not in inspect.signature(Inpaint.outpaint).parameters
    assert [s.name for s in Inpaint.__call__.settings][:5] == ["negative_prompt", "mask_blur", "inpaint_area", "padding",
                                                                "mask_mode"]
    with pytest.raises(ValueError, match=r"guidance must be in \[0, 30\], got 31"):
        TextToImage.__call__(None, "a fox", guidance=31)
    assert [s.name for s in Studio.part_settings("hires")] == ["scale", "steps", "strength", "upscaler"]
    assert Studio.part_settings("control")["preprocessor"].values() == ["canny", "depth", "none"]


def test_the_upscaler_reads_its_declared_settings():
    from pipelines.upscale import SETTINGS, Upscaler

    call = Upscaler.__call__
    assert call.settings is not None and [s.name for s in call.settings] == ["scale", "tile"]
    assert SETTINGS["tile"].describe() == "Tile size (pixels of input at a time); [32, 2048] px; default 256"
    with pytest.raises(ValueError, match="scale must be one of 2, 4, got 3"):
        call(None, None, scale=3)
    with pytest.raises(ValueError, match=r"tile must be between 32 and 2048, got 16"):
        call(None, None, tile=16)


def test_a_worker_streams_events_and_returns_the_result():
    from pipelines.worker import run_in_worker

    def work(emit):
        for i in range(3):
            emit(i)
        return "done"

    stream = run_in_worker(work)
    seen = []
    while True:
        try:
            seen.append(next(stream))
        except StopIteration as end:
            assert end.value == "done"
            break
    assert seen == [0, 1, 2]
