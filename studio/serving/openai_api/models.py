"""`GET /v1/models`: the models the studio serves, per task; and what a request's `model` names.

Every route takes `model`: `default` (the preset's model for that task) or one
of the names listed here: the preset's, then the model library's (its
alternatives, the Hugging Face cache, the models folder; `Studio.list_models`).
Names are as the user would write them ("tiny:chat", "stabilityai/sd-turbo", a
name in the models folder), never a server path.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from studio.serving.openai_api.errors import ApiError

router = APIRouter()

# REST task -> the preset section whose model serves it.
TASKS = {
    "chat": "text",
    "completions": "text",
    "speech": "speech",
    "transcriptions": "transcribe",
    "translations": "transcribe",
    "images": "image",
}


def served(studio) -> dict[str, list[str]]:
    """Model name -> the REST tasks it serves, in the preset's order."""
    names: dict[str, list[str]] = {}
    for task, section in TASKS.items():
        for name in _section_models(studio, section):
            names.setdefault(name, []).append(task)
    return names


def _section_models(studio, section: str) -> list[str]:
    """The preset's model(s) for `section` first, then what the model library offers for it."""
    if section == "speech":
        names = list(studio.preset.voices().values())
    else:
        names = [studio.preset.sections.get(section, {}).get("model")]
    library = [entry["name"] for entry in studio.list_models(section) if entry.get("task") == section]
    return list(dict.fromkeys(name for name in [*names, *library] if name))


def keywords(studio, task: str, name: str) -> dict:
    """`model=` for a Studio call: nothing for the preset's own model, else the chosen name."""
    return {} if name == _section_models(studio, TASKS[task])[0] else {"model": name}


def pick(studio, task: str, name) -> str:
    """The listed model name a request's `model` stands for; 404 for one the studio does not serve for `task`."""
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, f"model must be a model name from /v1/models or 'default', got {name!r}", param="model",
                       code="invalid_value")
    models = _section_models(studio, TASKS[task])
    if not models:
        raise ApiError(404, f"this studio's preset has no model for {task}", param="model", code="model_not_found")
    if name == "default":
        return models[0]
    if name not in models:
        raise ApiError(404, f"model {name!r} does not serve {task} here; choose 'default' or one of: {', '.join(models)} "
                       "(GET /v1/models lists them)", param="model", code="model_not_found")
    return name


def _card(studio, name: str, tasks: list[str], created: int) -> dict:
    card = {"id": name, "object": "model", "created": created, "owned_by": "studio", "tasks": tasks}
    if "speech" in tasks:
        card["voices"] = [code for code, model in studio.preset.voices().items() if model == name]
    return card


@router.get("/models")
async def list_models(request: Request):
    ctx = request.app.state.ctx
    data = [_card(ctx.studio, name, tasks, ctx.started) for name, tasks in served(ctx.studio).items()]
    return {"object": "list", "data": data}


@router.get("/models/{name:path}")
async def get_model(name: str, request: Request):
    ctx = request.app.state.ctx
    tasks = served(ctx.studio).get(name)
    if tasks is None:
        raise ApiError(404, f"model {name!r} is not served here; GET /v1/models lists the models", param="model",
                       code="model_not_found")
    return _card(ctx.studio, name, tasks, ctx.started)
