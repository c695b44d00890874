"""The `studio` command: every operation a verb, files with their recipe, one-line errors."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from studio import Studio
from studio.serving.cli import OPERATIONS, build_parser, main


def studio_cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "studio", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_every_operation_is_a_verb_with_the_python_keywords():
    parser = build_parser()
    verbs = parser._subparsers._group_actions[0].choices
    for name in OPERATIONS:
        assert name.replace("_", "-") in verbs, name
    options = {a.dest for a in verbs["text-to-image"]._actions}
    assert {"prompt", "negative_prompt", "steps", "guidance", "width", "height", "seed", "batch_size", "scheduler"} <= options


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    Image.new("RGB", (64, 64), (10, 200, 30)).save(folder / "in.png")
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(16000 * 2) / 16000)
    sf.write(folder / "in.wav", tone.astype(np.float32), 16000)
    return folder


VERBS = [
    ["text-to-image", "a red fox", "--seed", "3", "--steps", "2"],
    ["image-to-image", "{in.png}", "a watercolor fox", "--strength", "0.6", "--seed", "1"],
    ["upscale", "{in.png}", "--scale", "2"],
    ["chat", "Bonjour", "--seed", "7"],
    ["text-to-text", "Le renard court dans la neige.", "--mode", "summarize", "--seed", "1"],
    ["text-to-speech", "Bonjour à tous", "--language", "fr", "--seed", "1"],
    ["speech-to-text", "{in.wav}"],
    ["text-to-music", "calm piano", "--duration", "1", "--seed", "1"],
    ["continue-music", "{in.wav}", "add drums", "--duration", "1", "--seed", "1"],
    ["translate-speech", "{in.wav}", "--language", "en"],
]


@pytest.mark.parametrize("argv", VERBS, ids=[v[0] for v in VERBS])
def test_each_verb_writes_a_file_whose_recipe_reads_back(argv, inputs, tmp_path, capsys):
    argv = [str(inputs / a[1:-1]) if a.startswith("{") else a for a in argv]
    main([*argv, "--preset", "tiny", "--out", str(tmp_path)])  # in-process: the same code as the command
    paths = [Path(line) for line in capsys.readouterr().out.splitlines() if line.startswith(str(tmp_path))]
    assert paths and all(p.exists() for p in paths)
    assert Studio.read_recipe(paths[0])["task"]


def test_the_command_runs_as_a_module(tmp_path):
    done = studio_cli("text-to-image", "a fox", "--steps", "1", "--preset", "tiny", "--out", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    path = Path(done.stdout.splitlines()[-1])
    assert Studio.read_recipe(path)["prompt"] == "a fox"


@pytest.mark.parametrize(
    "argv, field",
    [
        (["text-to-image", "a fox", "--width", "500"], "width"),
        (["text-to-image", "   "], "prompt"),
        (["text-to-speech", "hello", "--language", "xx"], "language"),
        (["text-to-music", "piano", "--duration", "-1"], "duration"),
        (["upscale", "missing.png"], "image"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line(argv, field, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--preset", "tiny", "--out", str(tmp_path)])
    assert exit_.value.code == 2
    message = [line for line in capsys.readouterr().err.splitlines() if line.startswith("studio: error:")]
    assert len(message) == 1 and field in message[0]
    assert not any(tmp_path.rglob("*.*"))


def test_the_command_exits_with_status_2_and_no_traceback(tmp_path):
    done = studio_cli("text-to-image", "a fox", "--width", "500", "--preset", "tiny", cwd=tmp_path)
    assert done.returncode == 2 and "width" in done.stderr and "Traceback" not in done.stderr


def test_a_declared_setting_s_help_line_says_its_range_unit_and_default(capsys):
    with pytest.raises(SystemExit):
        main(["upscale", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "--tile TILE Tile size (pixels of input at a time); [32, 2048] px; default 256" in shown
    assert "--scale SCALE Scale; one of 2, 4; default 2" in shown
