"""Subtitles read back by real subtitle libraries and ffmpeg give the words that were said.

`<`, `>` and `&` are markup in both formats: unescaped, webvtt-py and ffmpeg drop
the text after a `<`. The cues escape them as entities; a reader decoding
entities (ffmpeg for WebVTT, `html.unescape` after pysrt and webvtt-py, which
leave entities as they are) gets the text back.
"""

import html
import shutil
import subprocess

import pysrt
import pytest
import webvtt

from pipelines.results import Transcript

TEXTS = ["Tom & Jerry <3", "a < b > c && d", "<i>not a tag</i> &amp; not an entity", "x --> y", "plain words"]


def transcript() -> Transcript:
    segments = [(float(i), i + 0.5, text) for i, text in enumerate(TEXTS)]
    return Transcript(" ".join(TEXTS), segments, "en", {})


def test_webvtt_py_reads_the_same_text(tmp_path):
    path = tmp_path / "cues.vtt"
    path.write_text(transcript().to_vtt(), encoding="utf-8")
    captions = webvtt.read(str(path))
    assert [html.unescape(caption.text) for caption in captions] == TEXTS
    assert [(caption.start, caption.end) for caption in captions] == [
        (f"00:00:0{i}.000", f"00:00:0{i}.500") for i in range(len(TEXTS))
    ]


def test_pysrt_reads_the_same_text(tmp_path):
    path = tmp_path / "cues.srt"
    path.write_text(transcript().to_srt(), encoding="utf-8")
    items = pysrt.open(str(path), encoding="utf-8")
    assert [html.unescape(item.text) for item in items] == TEXTS
    assert [item.index for item in items] == list(range(1, len(TEXTS) + 1))


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_ffmpeg_reads_every_word_of_the_vtt(tmp_path):
    path = tmp_path / "cues.vtt"
    path.write_text(transcript().to_vtt(), encoding="utf-8")
    done = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "srt", "-"], capture_output=True, check=True
    )
    cues = done.stdout.decode().strip().split("\n\n")
    # ffmpeg writes the decoded text; a tag-like "<i>" comes back as the SRT italics it means there
    assert [cue.split("\n", 2)[2] for cue in cues] == TEXTS
