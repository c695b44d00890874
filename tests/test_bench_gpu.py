"""`python -m bench --gpu` without a GPU, and how it writes its section of BENCHMARKS.md."""

import os
import subprocess
import sys

import pytest


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a GPU is here: the bench would run for minutes")
def test_without_cuda_it_says_so_and_exits_0(tmp_path):
    output = tmp_path / "BENCHMARKS.md"
    done = subprocess.run([sys.executable, "-m", "bench", "--gpu", "--output", str(output)], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == 0, done.stderr
    assert "no CUDA GPU" in done.stdout and not output.exists()


def test_the_gpu_section_replaces_its_old_self_and_nothing_else(tmp_path):
    from bench.gpu import kept_section, write

    output = tmp_path / "BENCHMARKS.md"
    output.write_text("# Benchmarks\n\n## Images\n\ncpu rows\n\n## Batch\n\nmore rows\n")
    write(output, "## GPU\n\nfirst\n")
    write(output, "## GPU\n\nsecond\n")
    text = output.read_text()
    assert text.count("## GPU") == 1 and "second" in text and "first" not in text
    assert "cpu rows" in text and "more rows" in text
    assert kept_section(output) == "## GPU\n\nsecond\n"
    output.write_text("# Benchmarks\n\n## GPU\n\nold\n\n## Images\n\ncpu\n")
    write(output, "## GPU\n\nnew\n")
    assert output.read_text() == "# Benchmarks\n\n## GPU\n\nnew\n\n## Images\n\ncpu\n"
