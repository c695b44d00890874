"""What the studio exposes: safetensors only, no remote code, only its outputs served, uploads capped, no secret logged.

The web checks run against `python app.py` with a login and a 1 MB upload limit,
as someone would put it on a network; the requests are made logged in, so a
refusal is the file rule's, not the login's.
"""

import ast
import inspect
import os
import re
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from pipelines.errors import ModelLoadError
from pipelines.loading import SAFE_LOAD
from studio import Studio
from tests.support.server import AppServer

ROOT = Path(__file__).resolve().parents[1]
MARKER = "s3cr3t-MARKER-7f1e"  # the token and the password: it must never show in the log
USER = "creator"


def sources(*folders: str) -> list[Path]:
    return [p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))]


# -- loading: safetensors only, no remote code, always through pipelines.loading ---------------------

def _parents(tree: ast.AST) -> dict:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _enclosing_function(node, parents):
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.FunctionDef):
            return node
    return None


def _hooks_run_by_load() -> set[str]:
    """The methods only ever called inside a lambda handed to load() (the wrappers' `load_parts`)."""
    inside, everywhere = set(), set()
    for path in sources("pipelines"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                everywhere.add((path, node.lineno, node.func.attr))
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "load":
                for lam in (a for a in node.args if isinstance(a, ast.Lambda)):
                    inside |= {(path, n.lineno, n.func.attr) for n in ast.walk(lam)
                               if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    hooks = {name for _, _, name in inside}
    return {name for name in hooks if all(c in inside for c in everywhere if c[2] == name)}


def test_every_from_pretrained_in_pipelines_goes_through_load_with_safetensors():
    checked = 0
    # The wrappers' own from_pretrained (DepthEstimator's, ...) is checked where it is defined.
    wrappers = {node.name for path in sources("pipelines") for node in ast.walk(ast.parse(path.read_text()))
                if isinstance(node, ast.ClassDef)}
    hooks = _hooks_run_by_load()
    assert "load_parts" in hooks  # pipelines.wrapper.Wrapper.from_pretrained runs it inside load()
    for path in sources("pipelines"):
        tree = ast.parse(path.read_text(), str(path))
        parents = _parents(tree)
        for call in ast.walk(tree):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "from_pretrained"):
                continue
            if isinstance(call.func.value, ast.Name) and call.func.value.id in wrappers:
                continue
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            loader = _enclosing_function(call, parents)
            owner = _enclosing_function(loader, parents) if loader else None
            passed = (loader is not None and loader.name in hooks) or owner and any(
                isinstance(n, ast.Call) and getattr(n.func, "id", "") == "load"
                and any(isinstance(a, ast.Name) and a.id == loader.name for a in n.args)
                for n in ast.walk(owner)
            )
            assert passed, f"{where}: from_pretrained outside a loader handed to pipelines.loading.load()"
            library_class = call.func.value.id if isinstance(call.func.value, ast.Name) else ""
            if not library_class.endswith(("Tokenizer", "Processor")):  # weights: safetensors only
                assert any(k.arg is None and getattr(k.value, "id", "") == "SAFE_LOAD" for k in call.keywords), where
            checked += 1
    assert checked >= 10  # every wrapper's model and tokenizer or processor


def test_the_studio_loads_models_only_through_the_pipelines_wrappers():
    for path in [*sources("studio"), ROOT / "app.py"]:
        if path.is_relative_to(ROOT / "studio" / "tiny"):
            continue  # the tiny builders read back the tiny folders they wrote (a ControlNet from its UNet)
        tree = ast.parse(path.read_text(), str(path))
        library = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                   for alias in node.names
                   if (getattr(node, "module", None) or alias.name).split(".")[0] in ("transformers", "diffusers")}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("from_pretrained", "from_single_file"):
                root = node.value
                while isinstance(root, ast.Attribute):
                    root = root.value
                assert getattr(root, "id", "") not in library, f"{path.relative_to(ROOT)}:{node.lineno} loads a model itself"


def test_no_remote_code_and_no_pickle_loading_anywhere():
    remote = re.compile(r"trust_remote_code\W{0,3}\s*[=:]\s*True")
    pickled = re.compile(r"\btorch\.load\(|\bpickle\.loads?\(|weights_only\s*=\s*False|from_single_file\(")
    # the from_single_file calls (checkpoints, ControlNets), each behind a refusal of anything but .safetensors
    single_files = [ROOT / "pipelines" / "single_file.py", ROOT / "pipelines" / "controlnet_file.py"]
    for path in single_files:
        assert re.search(r'if Path\(path\)\.suffix(\.lower\(\))? != "\.safetensors"', path.read_text()), path
    for path in [*sources("pipelines", "studio", "bench", "tests"), ROOT / "app.py"]:
        text = path.read_text()
        assert not remote.search(text), path
        if (path.is_relative_to(ROOT / "pipelines") or path.is_relative_to(ROOT / "studio")) and path not in single_files:
            assert not pickled.search(text), path
    assert SAFE_LOAD == {"use_safetensors": True}


def test_every_weight_file_read_asks_for_safetensors_and_no_remote_code(fresh_studio, monkeypatch):
    """Every model of the preset, loaded for real, with the libraries' own loaders watched."""
    from diffusers.models.modeling_utils import ModelMixin
    from diffusers.pipelines.pipeline_utils import DiffusionPipeline
    from transformers.modeling_utils import PreTrainedModel

    seen = []
    for base in (PreTrainedModel, ModelMixin, DiffusionPipeline):
        original = base.__dict__["from_pretrained"].__func__

        def watched(cls, *args, original=original, **kwargs):
            seen.append((cls.__name__, kwargs.get("use_safetensors"), kwargs.get("trust_remote_code")))
            return original(cls, *args, **kwargs)

        monkeypatch.setattr(base, "from_pretrained", classmethod(watched))
    fresh_studio.preload()
    kinds = {name for name, *_ in seen}
    assert {"StableDiffusionPipeline", "UNet2DConditionModel", "LlamaForCausalLM", "VitsModel",
            "WhisperForConditionalGeneration", "MusicgenForConditionalGeneration", "CsmForConditionalGeneration"} <= kinds
    assert all(safetensors is True and not remote for _, safetensors, remote in seen), seen


@pytest.mark.parametrize("suffix", [".ckpt", ".pt", ".pth"])  # .bin: tests/test_models.py
def test_pickle_weights_of_every_kind_are_refused(tmp_path, suffix):
    folder = tmp_path / "unsafe"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / f"model{suffix}").write_bytes(b"\x80\x04not really")
    preset = tmp_path / "p.toml"
    preset.write_text(f'[text]\nmodel = "{folder}"\n')
    with pytest.raises(ModelLoadError, match="only pickle weights.*safetensors only"):
        Studio(preset=str(preset), outputs=tmp_path / "outputs").chat("Bonjour")


# -- the web server: what it serves, what it takes, what it logs -------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    secrets = {"HF_TOKEN": MARKER, "HUGGING_FACE_HUB_TOKEN": MARKER, "STUDIO_USERNAME": USER, "STUDIO_PASSWORD": MARKER}
    app = AppServer(tmp_path_factory.mktemp("exposed-app"), "--max-file-size", "1mb", env=secrets)
    yield app
    app.stop()


@pytest.fixture(scope="module")
def session(server):
    """A logged-in browser, as far as the server can tell."""
    with httpx.Client(base_url=server.url, timeout=60) as http:
        assert http.post("login", data={"username": USER, "password": "wrong"}).status_code == 400
        assert http.post("login", data={"username": USER, "password": MARKER}).status_code == 200
        yield http


@pytest.fixture(scope="module")
def output(server) -> Path:
    """A real output file, made through the API."""
    client = Client(server.url, auth=(USER, MARKER), verbose=False)
    client.predict(prompt="a fox", seed=1, api_name="/text_to_image")
    client.predict(message="Bonjour", seed=1, api_name="/chat")
    with pytest.raises(Exception, match="width"):
        client.predict(prompt="a fox", width=500, api_name="/text_to_image")
    [png] = server.outputs.rglob("*.png")
    return png.resolve()


def forbidden(output: Path) -> list[str]:
    """Requests for files outside the outputs and temp folders, plain and with tricks."""
    day, up = output.parent, "../" * 8
    return [
        "gradio_api/file=/etc/passwd",
        "gradio_api/file//etc/passwd",  # the older /file/ route
        "gradio_api/file=%2fetc%2fpasswd",
        "gradio_api/file=file:///etc/passwd",
        f"gradio_api/file={day}/{up}etc/passwd",
        f"gradio_api/file={day}/{up.replace('../', '%2e%2e/')}etc/passwd",
        f"gradio_api/file={day}/{up.replace('../', '%2e%2e%2f')}etc/passwd",
        f"gradio_api/file={day}/{up.replace('../', '%252e%252e%252f')}etc/passwd",
        f"gradio_api/file={day}/{up.replace('../', '..%5c')}etc/passwd",
        "gradio_api/file=README.md",
        "gradio_api/file=app.py",
        f"gradio_api/file={ROOT / 'README.md'}",
        f"gradio_api/file={ROOT / 'studio' / 'serve.py'}",
        f"gradio_api/file={day}/{up}{str(ROOT / 'app.py').lstrip('/')}",
        f"gradio_api/file={day.parent}",  # the folder itself: no listing
        "gradio_api/file=http://127.0.0.1:1/",  # no fetching on the server's behalf
        "gradio_api/proxy=file:///etc/passwd",
        "file=/etc/passwd",
        "static/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        "assets/..%2f..%2f..%2fREADME.md",
        "monitoring",
        "monitoring/summary",
    ]


def test_files_outside_the_outputs_and_temp_folders_are_refused(session, output, server):
    passwd, readme = Path("/etc/passwd").read_bytes()[:20], (ROOT / "README.md").read_bytes()[:20]
    logged = len(server.log.read_text())
    for path in forbidden(output):
        answer = session.get(path, follow_redirects=False)
        assert 400 <= answer.status_code < 500, (path, answer.status_code)
        assert passwd not in answer.content and readme not in answer.content, path
    assert "Traceback" not in server.log.read_text()[logged:]


def test_a_real_output_is_served_to_the_logged_in_only(session, output, server):
    for route in ("gradio_api/file=", "gradio_api/file/"):
        answer = session.get(f"{route}{output}")
        assert answer.status_code == 200 and answer.content == output.read_bytes()
    with httpx.Client(base_url=server.url, timeout=30) as stranger:
        assert stranger.get(f"gradio_api/file={output}").status_code == 401
        assert stranger.get("config").status_code == 401


def test_a_stranger_gets_the_login_page_and_nothing_about_the_app(session, server):
    with httpx.Client(base_url=server.url, timeout=30) as stranger:
        page = stranger.get("")
        assert page.status_code == 200 and "auth_required" in page.text
        assert "text_to_image" not in page.text and "upscale" not in page.text  # no API schema in the login page
        for path in ("gradio_api/runs", "gradio_api/runs/", "gradio_api/info", "gradio_api/openapi.json", "openapi.json",
                     "config", "gradio_api/queue/status", "gradio_api/file=README.md", "gradio_api/upload_progress",
                     "gradio_api/heartbeat/x", "gradio_api/call/upscale", "gradio_api/mcp/schema", "docs", "gradio_api/docs"):
            answer = stranger.get(path)
            assert 400 <= answer.status_code < 500 and "text_to_image" not in answer.text, (path, answer.status_code)
        assert stranger.get("theme.css").status_code == 200  # what the login page needs to draw itself
    assert "text_to_image" in session.get("").text  # logged in: the app


def _call(session, api: str, data: list) -> str:
    """An API call as any HTTP client can make it; the event stream's text."""
    joined = session.post(f"gradio_api/call/{api}", json={"data": data})
    assert joined.status_code == 200, joined.text
    return session.get(f"gradio_api/call/{api}/{joined.json()['event_id']}").text


def test_the_server_reads_no_file_or_local_address_named_by_a_client(session, output):
    def file(path):
        return {"path": path, "url": path if "://" in path else None, "meta": {"_type": "gradio.FileData"}}

    passwd = Path("/etc/passwd").read_text()[:20]
    for named in ["/etc/passwd", str(ROOT / "README.md"), f"{output.parent}/../../../../etc/passwd",
                  "http://127.0.0.1:1/x.wav", "file:///etc/passwd"]:
        answer = _call(session, "speech_to_text", [file(named), "transcribe", "auto", True, 8])
        assert "event: error" in answer and passwd not in answer, (named, answer)
        answer = _call(session, "upscale", [file(named), 2, 256])
        assert "event: error" in answer, (named, answer)


def test_uploads_over_the_limit_get_413(session, server):
    big = session.post("gradio_api/upload", files={"files": ("big.wav", os.urandom(1_100_000))})
    assert big.status_code == 413 and "maximum allowed size" in big.text
    small = session.post("gradio_api/upload", files={"files": ("small.wav", os.urandom(10_000))})
    assert small.status_code == 200 and small.json()[0].endswith("small.wav")
    with httpx.Client(base_url=server.url, timeout=30) as stranger:
        assert stranger.post("gradio_api/upload", files={"files": ("x.wav", b"x")}).status_code == 401


def test_no_secret_is_logged_saved_or_sent(session, output, server):
    session.get("monitoring")  # would print its dashboard key, were monitoring on
    log = server.log.read_text()
    assert MARKER not in log and "Monitoring URL" not in log
    for path in server.outputs.rglob("*"):
        assert not path.is_file() or MARKER.encode() not in path.read_bytes(), path
    for page in ("config", "gradio_api/info", "gradio_api/openapi.json", ""):
        assert MARKER not in session.get(page).text, page


def test_the_readme_limits_are_the_codes(studio):
    from pipelines import audio_io, image, image_io, music, speech, text, upscale
    from pipelines.checks import MAX_SEED
    from studio.serving.cli import build_parser
    from studio.serving.serve import launch

    readme = (ROOT / "README.md").read_text()
    limits = readme[readme.index("## Limits\n"):readme.index("## Security\n")]
    serve = build_parser().parse_args(["serve"])
    defaults = inspect.signature(launch).parameters
    assert [getattr(serve, n) for n in ("queue_size", "max_file_size", "concurrency")] == [
        defaults[n].default for n in ("queue_size", "max_file_size", "concurrency")]
    expected = [
        f"| image prompt | {image.MAX_PROMPT_CHARS:,} characters",
        f"| image size | {image.MIN_SIZE} to {image.MAX_SIZE:,} pixels a side, multiples of {image.SIZE_STEP} |",
        f"| input images | {image_io.MIN_SIDE} to {image_io.MAX_SIDE:,} pixels a side |",
        f"| steps | 1 to {image.MAX_STEPS} |",
        f"| batch size | 1 to {image.MAX_BATCH} images |",
        f"x{upscale.SCALES[0]} or x{upscale.SCALES[1]}, at most {upscale.MAX_OUTPUT_SIDE:,} pixels a side",
        f"| chat | {text.MAX_MESSAGES} messages, {text.MAX_MESSAGE_CHARS:,} characters a message",
        f"| text (Text → Text, next token) | {text.MAX_TEXT_CHARS:,} characters |",
        f"`max_new_tokens` 1 to {text.MAX_NEW_TOKENS:,} |",
        f"| text to speak | {speech.MAX_TEXT_CHARS:,} characters |",
        f"| audio input | {audio_io.MIN_SECONDS:g} s to {audio_io.MAX_SECONDS / 60:g} minutes ({audio_io.MAX_SECONDS:g} s), "
        f"{audio_io.MIN_RATE // 1000} kHz to {audio_io.MAX_RATE // 1000} kHz, 1 to {audio_io.MAX_CHANNELS} channels |",
        f"| music | {music.MIN_DURATION:g} to {music.MAX_DURATION:g} s; its prompt {music.MAX_PROMPT_CHARS:,} characters |",
        f"| seed | 0 to {MAX_SEED:,};",
        f"| queue | {serve.queue_size} requests waiting (`--queue-size`), {serve.concurrency} running (`--concurrency`)",
        f"| upload size | {serve.max_file_size.removesuffix('mb')} MiB a file (`--max-file-size {serve.max_file_size}`)",
    ]
    for line in expected:
        assert line in limits, line
    with studio._use("text", studio.model_ref("text"), text.LanguageModel.from_pretrained) as lm:
        assert f"({lm.context_length} tokens for the tiny model" in limits
