"""Samplers, step progress, the safety checker's verdict and size checks, on tiny SD pipelines."""

import numpy as np
import pytest

from pipelines.image import TextToImage
from studio import tiny

FOX = dict(seed=1, steps=2, width=64, height=64)


def test_plms_runs_below_four_steps_without_warm_up_steps(studio):
    seen = []
    result = studio.text_to_image("a fox", scheduler="PLMS", callback=lambda step, total, _: seen.append(step), **FOX)
    assert result.params["scheduler"] == "PLMS"
    with studio._use("text_to_image", studio.model_ref("image"), TextToImage.from_pretrained) as t2i:
        config = t2i.pipe.scheduler.config
    assert config.skip_prk_steps
    # PLMS makes one UNet call per step plus one to start its history; PNDM's Runge-Kutta warm-up would make 4 per step.
    assert len(seen) == 3


@pytest.mark.parametrize("scheduler", ["Heun", "Euler", "PLMS", "DPM++ 2M"])
def test_the_step_callback_total_is_the_number_of_calls(studio, scheduler):
    seen = []
    studio.text_to_image("a fox", scheduler=scheduler, preview_every=1,
                         callback=lambda step, total, preview: seen.append((step, total, preview is not None)), **FOX)
    total = seen[0][1]
    assert [step for step, _, _ in seen] == list(range(1, total + 1))
    assert all(t == total for _, t, _ in seen) and all(preview for _, _, preview in seen)
    if scheduler == "Heun":  # two model calls per step but the last: (1, 3), (2, 3), (3, 3)
        assert total == 3


def test_image_to_image_progress_counts_its_calls_with_heun(studio):
    source = studio.text_to_image("a fox", **FOX).images[0]
    seen = []
    studio.image_to_image(source, "a fox", strength=0.5, steps=4, seed=1, scheduler="Heun",
                          callback=lambda step, total, _: seen.append((step, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


@pytest.mark.parametrize("field", ["width", "height"])
def test_zero_width_or_height_is_an_error_not_the_default(studio, field):
    with pytest.raises(ValueError, match=f"{field} must be between 64 and 2048, got 0"):
        studio.text_to_image("a fox", steps=1, **{field: 0})
    source = studio.text_to_image("a fox", **FOX).images[0]
    with pytest.raises(ValueError, match=f"{field} must be between 64 and 2048, got 0"):
        studio.image_to_image(source, "a fox", steps=2, **{field: 0})


def test_zero_size_in_a_batch_of_prompts_is_an_error(studio):
    with studio._use("text_to_image", studio.model_ref("image"), TextToImage.from_pretrained) as t2i:
        with pytest.raises(ValueError, match="width must be between 64 and 2048, got 0"):
            t2i.many(["a", "b"], [1, 2], steps=1, width=0)


@pytest.fixture(scope="module")
def checked():
    """SD 1.5's hub layout: a safety checker (here one that flags every image) and its feature extractor."""
    return TextToImage.from_pretrained(str(tiny.ensure("sd-safety")))


def test_the_safety_checker_verdict_is_reported_naming_the_images(checked):
    result = checked("a fox", steps=1, seed=5, batch_size=2)
    assert all(np.asarray(image).max() == 0 for image in result.images)  # blacked out by the pipeline
    assert result.params["notices"] == [
        "the model's safety checker flagged images 1, 2 of 2 (seeds 5, 6) and returned them black; "
        "another prompt or seed may pass"
    ]
    again = checked.image_to_image()(result.images[0], "a fox", steps=2, seed=7)
    assert "flagged image 1 of 1 (seed 7)" in again.params["notices"][0]


def test_the_verdict_is_reported_per_job_in_a_batch_of_prompts(checked):
    results = checked.many(["a fox", "a cat"], [3, 4], steps=1)
    assert ["seed 3" in r.params["notices"][0] for r in results] == [True, False]
    assert ["seed 4" in r.params["notices"][0] for r in results] == [False, True]


def test_a_pipeline_without_a_checker_has_no_notice(studio):
    assert "notices" not in studio.text_to_image("a fox", **FOX).params


def test_running_without_the_checker_is_the_documented_model_index_edit(tmp_path):
    import json
    import shutil

    folder = tmp_path / "sd15-no-checker"
    shutil.copytree(tiny.ensure("sd-safety"), folder)
    index = json.loads((folder / "model_index.json").read_text())
    index.update(safety_checker=[None, None], requires_safety_checker=False)
    (folder / "model_index.json").write_text(json.dumps(index))
    result = TextToImage.from_pretrained(str(folder))("a fox", steps=1, seed=5)
    assert "notices" not in result.params and np.asarray(result.images[0]).max() > 0
