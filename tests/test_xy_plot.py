"""X/Y plot: a labelled grid of an image operation over one or two settings, every cell saved with its recipe."""

import json

import numpy as np
import pytest
from PIL import Image

from studio import Studio


def test_a_3x2_plot_gives_the_grid_and_every_cell_with_its_own_recipe(studio):
    plot = studio.xy_plot("text_to_image", x=("steps", [1, 2, 3]), y=("guidance", [1.0, 7.5]), prompt="a fox", seed=5)
    assert len(plot.cells) == 6
    assert plot.x_labels == ["steps: 1", "steps: 2", "steps: 3"] and plot.y_labels == ["guidance: 1.0", "guidance: 7.5"]
    width = plot.grid.size[0] - 3 * 64
    assert width > 0 and plot.grid.size[1] == 24 + 2 * 64  # the labels' column and row, then 3 x 2 cells
    assert [(c.params["steps"], c.params["guidance"]) for c in plot.cells] == [(1, 1.0), (2, 1.0), (3, 1.0),
                                                                             (1, 7.5), (2, 7.5), (3, 7.5)]
    assert {c.params["seed"] for c in plot.cells} == {5}
    alone = studio.text_to_image("a fox", steps=2, guidance=7.5, seed=5)
    assert np.array_equal(np.asarray(plot.cells[4].images[0]), np.asarray(alone.images[0]))
    assert np.array_equal(np.asarray(plot.grid)[24 + 64:, width + 64:width + 128], np.asarray(alone.images[0]))
    paths = studio.save(plot)
    assert len(paths) == 7 and "xy_plot-grid" in paths[0].name
    grid_recipe = Studio.read_recipe(paths[0])
    assert grid_recipe["task"] == "xy_plot" and grid_recipe["x"] == ["steps", [1, 2, 3]]
    assert grid_recipe["cells"] == [p.name for p in paths[1:]]
    assert Studio.read_recipe(paths[2])["steps"] == 2


def test_one_axis_seed_and_prompt_search_and_replace(studio):
    seeds = studio.xy_plot("text_to_image", x=("seed", [1, 2]), prompt="a fox", steps=1)
    assert [c.seeds for c in seeds.cells] == [[1], [2]] and seeds.grid.size == (128, 24 + 64)
    words = studio.xy_plot("text_to_image", x=("prompt_sr", ["fox", "cat"]), prompt="a red fox", steps=1, seed=1)
    assert [c.params["prompt"] for c in words.cells] == ["a red fox", "a red cat"] and words.x_labels == ["fox", "cat"]
    with pytest.raises(ValueError, match="prompt_sr"):
        studio.xy_plot("text_to_image", x=("prompt_sr", ["dog", "cat"]), prompt="a red fox", steps=1)


def test_an_image_to_image_plot_over_strength(studio):
    source = Image.new("RGB", (64, 64), (200, 30, 30))
    plot = studio.xy_plot("image_to_image", x=("strength", [0.5, 1.0]), image=source, prompt="a fox", steps=2, seed=1)
    assert [c.params["strength"] for c in plot.cells] == [0.5, 1.0]


def test_a_batch_file_runs_a_plot(tmp_path):
    from studio.serving.batch import parse_jobs, run_batch

    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"task": "xy_plot", "plot": "text_to_image", "x": ["steps", [1, 2]], "y": ["seed", [1, 2]],
                                "prompt": "a fox"}) + "\n")
    assert run_batch(jobs, tmp_path / "out", preset="tiny", progress=False)["done"] == 1
    row = json.loads((tmp_path / "out" / "manifest.jsonl").read_text())
    assert len(row["outputs"]) == 5 and "xy_plot-grid" in row["outputs"][0]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"task": "xy_plot", "plot": "text_to_image", "x": ["steps", [1]], "prompt": "a fox",
                               "speed": 3}) + "\n" + json.dumps({"task": "xy_plot", "plot": "chat", "x": ["seed", [1]]}) + "\n")
    with pytest.raises(ValueError, match="line 1: field 'speed'") as error:
        parse_jobs(bad, Studio)
    assert "line 2: field 'plot'" in str(error.value)


def test_values_typed_as_a_person_types_them_are_read_as_each_setting_takes_them(studio):
    plot = studio.xy_plot("text_to_image", x=("steps", "1, 2"), y=("guidance", "1, 7.5"), prompt="a fox", seed=5)
    assert [(c.params["steps"], c.params["guidance"]) for c in plot.cells] == [(1, 1.0), (2, 1.0), (1, 7.5), (2, 7.5)]
    words = studio.xy_plot("text_to_image", x=("prompt_sr", "fox, red | cat, blue"), prompt="a fox, red", steps=1)
    assert [c.params["prompt"] for c in words.cells] == ["a fox, red", "a cat, blue"]
    for axis, values, message in [(("steps", "1, 2.5"), None, "x value '2.5' for steps must be a whole number"),
                                  (("guidance", "4,,7"), None, "x values '4,,7' hold an empty value"),
                                  (("steps", "1"), ("seed", "one"), "y value 'one' for seed is not a number")]:
        with pytest.raises(ValueError, match=message):
            studio.xy_plot("text_to_image", x=axis, y=values, prompt="a fox")


def test_a_stop_ends_the_plot_at_the_next_step(studio):
    from pipelines.errors import Cancelled

    steps = []

    def stop_in_the_second_cell():
        steps.append(1)
        return len(steps) > 3

    with pytest.raises(Cancelled, match="X/Y plot was stopped"):
        studio.xy_plot("text_to_image", x=("seed", [1, 2, 3]), prompt="a fox", steps=2, stop=stop_in_the_second_cell)
    assert len(steps) == 4


def test_the_cli_verb_plots_any_image_operation(tmp_path, capsys):
    from studio.serving import cli

    cli.main(["xy-plot", "text-to-image", "--preset", "tiny", "--out", str(tmp_path), "--x", "steps=1,2",
              "--y", "seed=1,2", "a fox", "--guidance", "3"])
    printed = capsys.readouterr().out.split()
    assert len(printed) == 5 and "xy_plot-grid" in printed[0]
    recipe = Studio.read_recipe(printed[0])
    assert recipe["x"] == ["steps", [1, 2]] and recipe["y"] == ["seed", [1, 2]] and recipe["settings"]["guidance"] == 3
    with pytest.raises(SystemExit) as error:
        cli.main(["xy-plot", "text-to-image", "--preset", "tiny", "--x", "steps", "a fox"])
    assert error.value.code == 2 and "not SETTING=VALUES" in capsys.readouterr().err


def test_the_endpoint_plots_the_tabs_settings(client):
    gallery, _, recipe = client.predict(prompt="a fox", steps=1, seed=4, x_setting="guidance", x_values="1, 7",
                                        y_setting="prompt_sr", y_values="fox, cat", api_name="/xy_plot")
    assert len(gallery) == 5 and recipe["task"] == "xy_plot" and recipe["x"] == ["guidance", [1.0, 7.0]]
    width, height = Image.open(gallery[0]["image"]).size
    assert width > 2 * 64 and height == 24 + 2 * 64  # the row labels' column, 2 x 2 cells under the column labels
    assert [Studio.read_recipe(cell["image"])["prompt"] for cell in gallery[1:]] == ["a fox", "a fox", "a cat", "a cat"]
