"""The model dropdown of each tab: the library's choices, marked when not downloaded, custom hub ids allowed.

Picking a hub model that is not in the cache downloads it at once, with its
bytes shown in the page and a button to cancel; a cancelled or cut download
keeps nothing (see `studio.library.download`). The choice reaches the studio as
the operation's `model`; a client may name a hub id or a library name, never a
path on the server.
"""

from __future__ import annotations

import threading
import time

import gradio as gr

from studio.ui.errors import guard
from studio.ui.i18n import t

TEXTS = {
    "mdl_model": ("Model", "Modèle"),
    "mdl_info": ("From the preset, the Hugging Face cache and the models folder; or type a hub id (org/name)",
                 "Du préréglage, du cache Hugging Face et du dossier des modèles ; ou saisissez un id du hub (org/nom)"),
    "mdl_cancel": ("Cancel download", "Annuler le téléchargement"),
    "mdl_loras": ("LoRAs (or <lora:name:weight> in the prompt)", "LoRA (ou <lora:nom:poids> dans le prompt)"),
    "mdl_lora_weight": ("LoRA weight", "Poids des LoRA"),
}
NOT_DOWNLOADED = " · not downloaded"


def choices(studio, task: str) -> list[tuple[str, str]]:
    return [(row["name"] + ("" if row["downloaded"] else NOT_DOWNLOADED), row["name"]) for row in studio.list_models(task)]


def default_model(studio, task: str) -> str | None:
    return next((row["name"] for row in studio.list_models(task) if row["default"]), None)


def model_dropdown(studio, task: str, gpu: dict | None = None) -> gr.Dropdown:
    """The dropdown, and under it the download status and its cancel button."""
    dropdown = gr.Dropdown(choices(studio, task), value=default_model(studio, task), label=t("mdl_model"),
                           info=t("mdl_info"), allow_custom_value=True, elem_classes=["model-picker"])
    with gr.Row(visible=True):
        status = gr.Markdown("", elem_classes=["model-download"])
        cancel = gr.Button(t("mdl_cancel"), size="sm", scale=0, min_width=160, visible=False)
    stops: dict[str, threading.Event] = {}

    @guard
    def fetch(name, request: gr.Request, progress=gr.Progress()):
        from studio.library.download import download

        if not needs_download(studio, task, name):
            yield "", gr.update(visible=False), gr.skip()
            return
        stop, state = threading.Event(), {"done": 0, "total": 0, "error": None}
        session = request.session_hash if request else ""
        stops[session] = stop

        def work():
            try:
                download(name, stop=stop, progress=lambda done, total: state.update(done=done, total=total))
            except BaseException as error:  # shown to the user below
                state["error"] = error

        worker = threading.Thread(target=work, daemon=True, name="studio-download")
        worker.start()
        try:
            while worker.is_alive():
                progress((state["done"], state["total"] or None), desc=f"downloading {name}", unit="bytes")
                yield _status(name, state), gr.update(visible=True), gr.skip()
                time.sleep(0.5)
        finally:
            if worker.is_alive():  # the page left or the event was cancelled
                stop.set()
            stops.pop(session, None)
        if state["error"] is not None:
            raise state["error"]
        yield f"**{name}** downloaded", gr.update(visible=False), gr.update(choices=choices(studio, task))

    def request_cancel(request: gr.Request):
        if request and request.session_hash in stops:
            stops[request.session_hash].set()

    dropdown.change(fetch, dropdown, [status, cancel, dropdown], api_visibility="private", show_progress="minimal")
    cancel.click(request_cancel, None, None, queue=False, api_visibility="private")
    return dropdown


def _status(name: str, state: dict) -> str:
    done, total = state["done"], state["total"]
    share = f" ({100 * done / total:.0f}%)" if total else ""
    return f"Downloading **{name}**: {done / 1e6:,.1f} MB of {total / 1e6:,.1f} MB{share}"


def needs_download(studio, task: str, name) -> bool:
    """A hub id (org/name) that is neither a local library name nor in the Hugging Face cache."""
    from studio.library.catalog import hub_snapshot

    if not isinstance(name, str) or name.count("/") != 1 or name.startswith(("/", ".", "~", "tiny:")):
        return False
    return not studio.library.resolve(task, name).local and hub_snapshot(name) is None


def client_model(name, field: str = "model"):
    """A model named by a web client: a hub id or a library name, never a server path."""
    if name in (None, ""):
        return None
    # "./x" is a path from the server's working folder: no hub id or library name starts with "."
    if not isinstance(name, str) or name.startswith(("/", "~", "\\", ".")) or ".." in name.split("/") or ":\\" in name:
        raise ValueError(f"{field} must be a hub id (org/name) or a name from the model list, got {name!r}")
    return name


def lora_chooser(studio):
    """A multi-choice of the library's LoRAs and one weight for them; returns (names, weight)."""
    names = [row["name"] for row in studio.list_models("lora")]
    with gr.Row():
        loras = gr.Dropdown(names, value=[], multiselect=True, label=t("mdl_loras"), allow_custom_value=True, scale=3)
        weight = gr.Slider(-2, 2, step=0.05, value=0.8, label=t("mdl_lora_weight"), scale=1)
    return loras, weight


def lora_choice(names, weight):
    """The UI's chosen LoRAs as the studio's `loras` argument."""
    if not names:
        return None
    return [(client_model(name, field="loras"), weight) for name in names]
