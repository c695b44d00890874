"""MMS voices of non-Latin scripts read uroman's romanization of native-script text."""

import re

import numpy as np
import pytest

from pipelines.speech import TextToSpeech
from studio import tiny


@pytest.fixture(scope="module")
def korean():
    return TextToSpeech.from_pretrained(str(tiny.ensure("tts-uroman")))


def test_native_script_is_romanized_and_spoken(korean):
    result = korean("서울은 한국의 수도입니다. 안녕!", seed=1)
    assert result.params["text"] == "서울은 한국의 수도입니다. 안녕!"
    assert result.params["romanized"] == "seouleun hangugyi sudoibnida. annyeong!"
    assert result.params["sentences"] == 2 and "notices" not in result.params
    assert result.audio.size > korean.sampling_rate // 2 and np.isfinite(result.audio).all()


def test_romanized_text_sounds_as_the_same_words_typed_in_latin(korean):
    native = korean("안녕", seed=3)
    typed = korean("annyeong", seed=3)
    assert np.array_equal(native.audio, typed.audio)
    assert "romanized" not in typed.params


def test_russian_and_hindi_text_are_read_too(korean):
    assert korean("Москва — столица России.", seed=1).params["romanized"] == "Moskva — stolitsa Rossii."
    hindi = korean("नमस्ते दुनिया", seed=1)
    assert re.fullmatch(r"[a-z ]+", hindi.params["romanized"]) and hindi.audio.size > 0
