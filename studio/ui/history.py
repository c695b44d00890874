"""History: one gallery of everything saved, with "restore settings" into the tab that made it.

"Load settings from file" reads a PNG, WAV, FLAC, MP3 or JSON written by the
studio, or a PNG from AUTOMATIC1111, and restores its recipe the same way.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from studio.outputs import history
from studio.ui import xy_fields
from studio.ui.errors import guard
from studio.ui.fields import File
from studio.ui.i18n import t
from studio.ui.parts import TabParts

TEXTS = {
    "tab_history": ("History", "Historique"),
    "hist_refresh": ("Refresh", "Actualiser"),
    "hist_gallery": ("Saved outputs, newest first", "Créations enregistrées, les plus récentes d'abord"),
    "hist_recipe": ("Recipe", "Recette"),
    "hist_file": ("File", "Fichier"),
    "hist_restore": ("Restore settings", "Restaurer les réglages"),
    "hist_load": ("Load settings from a file (PNG, WAV, FLAC, MP3, JSON; A1111 PNGs too)",
                  "Charger les réglages d'un fichier (PNG, WAV, FLAC, MP3, JSON ; PNG d'A1111 aussi)"),
}
# Recipe values a restore never writes back: inputs that are files, and bookkeeping. The model is
# restored: the recipe names it as the user did (`tiny:sd`, a hub id, a models-folder name), as the dropdown does.
NOT_RESTORED = {"image", "mask", "audio", "task", "preset", "device", "dtype"}
# Nor any input that holds a file, whatever its name ("control.image" too): a recipe comes from the client
# (a loaded file, the recipe box), and a path written into a file component is copied by gradio into its
# cache and served, so a recipe naming a file of the server's folder or temp folder would serve that file.
FILE_INPUTS = (gr.Image, gr.ImageEditor, gr.Audio, gr.File, gr.Gallery, gr.Video)


def _restored(recipe: dict, name: str) -> tuple[bool, object]:
    """(found, value) of input `name` in `recipe`: "hires.scale" reads recipe["hires"]["scale"],
    "hires.on" whether the recipe has a "hires" at all; "control.scale" reads the first ControlNet
    entry of recipe["control"] (a list: the tabs hold one unit)."""
    head, _, key = name.partition(".")
    if not key:
        return name in recipe, recipe.get(name)
    group = recipe.get(head)
    if key == "on":
        return True, bool(group)
    if isinstance(group, list):
        group = group[0] if group and isinstance(group[0], dict) else None
    return isinstance(group, dict) and key in group, (group or {}).get(key)


def history_tab(studio, parts: list[TabParts], tabs: gr.Tabs) -> None:
    with gr.Tab(t("tab_history"), id="history") as tab:
        refresh = gr.Button(t("hist_refresh"), size="sm")
        gallery = gr.Gallery(label=t("hist_gallery"), columns=6, height="auto", allow_preview=False)
        with gr.Row():
            recipe = gr.JSON(label=t("hist_recipe"))
            with gr.Column():
                file = gr.File(label=t("hist_file"), interactive=False)
                restore = gr.Button(t("hist_restore"), variant="primary")
                upload = File(label=t("hist_load"), file_types=[".png", ".wav", ".flac", ".mp3", ".json"], type="filepath")
    entries = gr.State([])
    targets = [component for part in parts for component in part.inputs.values()]

    def listing():
        found = history.list_outputs(studio.outputs)
        cache = studio.outputs / ".thumbnails"
        return [(str(history.thumbnail(e, cache)), e.caption) for e in found], [(str(e.path), e.recipe) for e in found]

    def pick(found, event: gr.SelectData):
        path, chosen = found[event.index]
        return chosen, path

    @guard
    def restore_recipe(chosen):
        if not chosen:
            raise ValueError("recipe is empty: pick an item in the gallery or load a file first")
        if chosen.get("task") == "xy_plot":  # the plot's settings, and its axes into the X/Y plot fields
            chosen = xy_fields.tab_recipe(chosen)
        part = next((p for p in parts if chosen.get("task") in p.tasks), None)
        if part is None:
            raise ValueError(f"task {chosen.get('task')!r} of this recipe has no tab to restore it into")
        updates = []
        for candidate in parts:
            for name, component in candidate.inputs.items():
                found, value = _restored(chosen, name)
                wanted = (candidate is part and found and name not in NOT_RESTORED
                          and not isinstance(component, FILE_INPUTS))
                updates.append(gr.update(value=value) if wanted else gr.skip())
        return [*updates, gr.Tabs(selected=part.id)]

    @guard
    def load_file(path):
        from studio.outputs import read_recipe

        if not path:
            return gr.skip(), gr.skip()
        return read_recipe(Path(path)), path

    tab.select(listing, None, [gallery, entries], queue=False, api_visibility="private")
    refresh.click(listing, None, [gallery, entries], queue=False, api_visibility="private")
    gallery.select(pick, entries, [recipe, file], queue=False, api_visibility="private")
    restore.click(restore_recipe, recipe, [*targets, tabs], queue=False, api_visibility="private")
    upload.upload(load_file, upload, [recipe, file], queue=False, api_visibility="private")
