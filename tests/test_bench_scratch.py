"""A bench run keeps its temporary files (model copies and conversions, gigabytes) in one folder it removes."""

import os
import subprocess
import sys
import tempfile

from bench.common import scratch_folder


def test_files_made_inside_go_with_the_folder_and_the_temp_settings_come_back(monkeypatch):
    monkeypatch.setenv("TMPDIR", "/somewhere/else")
    before = tempfile.gettempdir()
    with scratch_folder() as folder:
        made = tempfile.mkdtemp()
        assert os.path.dirname(made) == folder
        with open(os.path.join(made, "model.gguf"), "wb") as file:
            file.write(b"\0" * 1024)
        child = subprocess.run([sys.executable, "-c", "import tempfile; print(tempfile.gettempdir())"],
                               capture_output=True, text=True, check=True)
        assert child.stdout.strip() == folder  # a peer's subprocess writes there too
    assert not os.path.exists(folder)
    assert tempfile.gettempdir() == before and os.environ["TMPDIR"] == "/somewhere/else"


def test_an_unset_tmpdir_is_unset_again(monkeypatch):
    monkeypatch.delenv("TMPDIR", raising=False)
    with scratch_folder():
        assert "TMPDIR" in os.environ
    assert "TMPDIR" not in os.environ
