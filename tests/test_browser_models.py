"""The model dropdown and the LoRA choice in a real browser, over a models folder laid out as A1111's."""

from __future__ import annotations

import shutil

import pytest

from studio import Studio, tiny
from studio.tiny.single_file import write
from tests.support.server import AppServer
from tests.test_browser import CHROMIUM, FLAGS, pytestmark  # noqa: F401  (same browser, same skip)

CHECKPOINT = "Stable-diffusion/tinysd.safetensors"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    models = tmp_path_factory.mktemp("models")
    write(tiny.ensure("sd"), models / CHECKPOINT)
    (models / "Lora").mkdir()
    shutil.copy(tiny.ensure("lora") / "pytorch_lora_weights.safetensors", models / "Lora" / "detail.safetensors")
    return AppServer(tmp_path_factory.mktemp("app"), env={"STUDIO_MODELS": str(models)})


@pytest.fixture(scope="module")
def page(app):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="en-US")
        page.problems = []
        page.on("pageerror", lambda error: page.problems.append(str(error)))
        page.goto(app.url, wait_until="load")
        page.wait_for_selector("button[role=tab]")
        yield page
        browser.close()
    app.stop()


def test_the_dropdown_picks_a_single_file_and_a_lora(page, app, tmp_path):
    page.get_by_role("tab", name="Text → Image", exact=True).click()
    panel = page.locator("[role=tabpanel]:visible").first
    picker = panel.locator(".model-picker input").first
    assert picker.input_value() == "tiny:sd"  # the preset's model first
    picker.click()
    page.get_by_role("option", name=CHECKPOINT).click()
    panel.locator("textarea:visible").first.fill("a red fox <lora:detail:0.5>")
    panel.locator("button.primary:visible").first.click()
    panel.locator("img[src*=text_to_image]").first.wait_for(timeout=120_000)
    page.screenshot(path=str(tmp_path / "model-picker.png"), full_page=True)
    saved = sorted(app.outputs.rglob("*.png"))
    recipe = Studio.read_recipe(saved[-1])
    assert recipe["model"] == CHECKPOINT and len(recipe["model_hash"]) == 10
    assert recipe["prompt"] == "a red fox <lora:detail:0.5>" and set(recipe["lora_hashes"]) == {"detail"}
    assert page.locator(".toast-body.error").count() == 0 and page.problems == []
