"""docs/architecture.md's worked example is the code: each line of its snippets is in the file it names."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Where the example's snippets live, in the order the section shows them.
SNIPPET_FILES = ["pipelines/upscale.py", "pipelines/upscale.py", "studio/tasks/image.py",
                 "studio/ui/image_tools.py", "studio/ui/image_tools.py"]


def worked_example() -> list[str]:
    text = ROOT.joinpath("docs/architecture.md").read_text(encoding="utf-8")
    section = text.split("## Adding a setting", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_worked_example_of_adding_a_setting_matches_the_code():
    snippets = worked_example()
    assert len(snippets) == len(SNIPPET_FILES)
    for snippet, path in zip(snippets, SNIPPET_FILES, strict=True):
        code = {line.strip() for line in ROOT.joinpath(path).read_text(encoding="utf-8").splitlines()}
        for line in snippet.splitlines():
            if line.strip() and line.strip() != "...":
                assert line.strip() in code, f"{path} has no line {line.strip()!r}"
