"""Chat, text-to-text and the next-token view on the tiny chat LM (256-token context)."""

import json
import socket
import subprocess
import sys
import threading

import pytest
import torch

from pipelines.text import LanguageModel, TokenTable, check_messages
from pipelines.text_modes import load_modes
from studio.outputs.text import read_conversation

DECK = "Je suis allé voir Emilie. C'est une"
HI = [{"role": "user", "content": "Bonjour, comment allez-vous aujourd'hui ?"}]


@pytest.fixture(scope="module")
def model(studio):
    """The wrapper itself, loaded from the folder the tiny preset points at."""
    return LanguageModel.from_pretrained(studio.model_ref("text"))


def long_conversation(turns: int) -> list[dict]:
    sentence = " ".join(["The quick brown fox jumps over the lazy dog."] * 3)
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"{i}: {sentence}"} for i in range(turns)]
    return [{"role": "system", "content": "You are a helpful assistant."}, *messages]


def test_same_seed_same_reply_other_seed_other_reply(studio):
    first = studio.chat(HI, seed=7)
    again = studio.chat(HI, seed=7)
    other = studio.chat(HI, seed=8)
    assert first.text and first.text == again.text
    assert other.text != first.text
    assert first.params["seed"] == 7 and first.params["task"] == "chat"
    assert first.params["max_new_tokens"] == 24  # the tiny preset's [text.defaults]
    assert first.params["preset"] == "tiny" and first.params["messages"] == HI


def test_reply_equals_raw_transformers_generate(studio):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    result = studio.chat(HI, seed=3, temperature=0.9, top_p=0.8, top_k=20, repetition_penalty=1.2)
    folder = studio.model_ref("text", result.params["model"])
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert result.params["dtype"] == "float32"  # the tiny preset's; tests/test_number_formats.py covers int8
    raw = AutoModelForCausalLM.from_pretrained(folder)
    inputs = tokenizer.apply_chat_template(HI, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    torch.manual_seed(3)
    output = raw.generate(**inputs, do_sample=True, temperature=0.9, top_p=0.8, top_k=20, repetition_penalty=1.2, max_new_tokens=24)
    assert tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True) == result.text


def test_streamed_pieces_join_to_the_reply(studio):
    whole = studio.chat(HI, seed=7)
    stream = studio.stream_chat(HI, seed=7)
    pieces = list(stream)
    assert len(pieces) > 1 and all(pieces)
    assert "".join(pieces) == whole.text == stream.result.text
    assert stream.result.params["seed"] == 7 and stream.result.params["preset"] == "tiny"


def test_a_text_is_one_user_message(studio):
    assert studio.chat("hi", seed=1).text == studio.chat([{"role": "user", "content": "hi"}], seed=1).text
    parts = [{"role": "user", "content": [{"type": "text", "text": "h"}, {"type": "text", "text": "i"}]}]
    assert studio.chat(parts, seed=1).text == studio.chat("hi", seed=1).text


def test_greedy_ignores_the_seed(studio):
    assert studio.chat(HI, temperature=0, seed=1).text == studio.chat(HI, temperature=0, seed=2).text


def test_system_prompt_keyword_equals_a_system_message(studio):
    keyword = studio.chat(HI, system_prompt="Answer briefly.", seed=4)
    message = studio.chat([{"role": "system", "content": "Answer briefly."}, *HI], seed=4)
    assert keyword.text == message.text
    assert keyword.params["system_prompt"] == "Answer briefly." and keyword.params["messages"] == HI


def test_next_token_rows_are_sorted_probabilities_and_top_is_greedy(studio):
    table = studio.next_token(DECK, top_k=5)
    assert isinstance(table, TokenTable) and len(table) == 5
    probabilities = [p for _, p in table]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(0 < p <= 1 for p in probabilities) and sum(probabilities) <= 1
    assert all(isinstance(token, str) and token for token, _ in table)
    greedy = studio.text_to_text(DECK, mode="continue", temperature=0, max_new_tokens=1)
    assert table[0][0] == greedy.text
    assert table.params == {**table.params, "task": "next_token", "text": DECK, "top_k": 5}


def test_a_presets_top_k_is_the_sampling_one_not_the_tables_size(tmp_path):
    from studio import Studio

    preset = tmp_path / "mine.toml"
    preset.write_text('[text]\nmodel = "tiny:chat"\n[text.defaults]\ntop_k = 20\nmax_new_tokens = 4\n'
                      '[runtime]\ndtype = "float32"\n', encoding="utf-8")
    studio = Studio(preset=str(preset), outputs=tmp_path / "out")
    assert studio.settings("chat")["top_k"].default == studio.settings("text_to_text")["top_k"].default == 20
    assert studio.settings("next_token")["top_k"].default == 10  # the declaration's: a table of ten rows
    assert studio.chat(HI, seed=1).params["top_k"] == 20
    table = studio.next_token(DECK)
    assert table.params["top_k"] == 10 and len(table) == 10


def test_next_token_probabilities_are_the_softmax_of_the_logits(model):
    inputs = model.tokenizer(DECK, return_tensors="pt")
    with torch.no_grad():
        logits = model.model(**inputs).logits[0, -1]
    suppressed = model.model.generation_config.suppress_tokens
    logits[suppressed] = -float("inf")  # what generate does to them, so the table does too
    expected = torch.softmax(logits, -1).topk(3)
    table = model.next_token(DECK, top_k=3)
    assert [t for t, _ in table] == [model.tokenizer.decode([i]) for i in expected.indices.tolist()]
    assert [p for _, p in table] == pytest.approx(expected.values.tolist(), rel=1e-5)


def test_step_mode_appends_the_chosen_token(studio):
    first = studio.next_token(DECK, top_k=3)
    chosen = first[1][0]
    step = studio.next_token(DECK, top_k=3, append=chosen)
    assert step.params["text"] == DECK + chosen and step.params["appended"] == chosen
    assert list(step) == list(studio.next_token(DECK + chosen, top_k=3))


def test_context_overflow_drops_the_oldest_turns_and_keeps_the_system_prompt(studio, model):
    conversation = long_conversation(15)
    result = studio.chat(conversation, seed=1)
    dropped = result.params["dropped_messages"]
    assert dropped > 0 and any("oldest" in notice for notice in result.params["notices"])
    kept, count = model.fit_context(check_messages(conversation), 24)
    assert count == dropped
    assert kept[0] == conversation[0]  # the system prompt
    assert kept[1:] == conversation[1 + dropped:]  # the newest turns, in order
    assert kept[1]["role"] == "user"
    assert model._prompt_length(kept) + 24 <= model.context_length
    assert model._prompt_length([kept[0], *conversation[dropped:]]) + 24 > model.context_length  # one more would not fit
    assert result.params["messages"] == conversation  # the recipe keeps what was given


def test_a_conversation_that_fits_is_kept_whole(model):
    conversation = long_conversation(3)
    assert model.fit_context(check_messages(conversation), 24) == (conversation, 0)


def test_a_message_longer_than_the_context_is_a_clear_error(studio):
    with pytest.raises(ValueError, match=r"messages\[0\] does not fit in the model's context"):
        studio.chat("The quick brown fox jumps over the lazy dog. " * 40)
    with pytest.raises(ValueError, match="max_new_tokens must be between 1 and 255"):
        studio.chat("hi", max_new_tokens=300)
    with pytest.raises(ValueError, match="text is too long"):
        studio.text_to_text("The quick brown fox jumps over the lazy dog. " * 40, mode="summarize")


@pytest.mark.parametrize(
    "messages, kwargs, field",
    [
        ([], {}, "messages is empty"),
        ([{"role": "bot", "content": "hi"}], {}, "unknown role 'bot'"),
        ([{"role": "user"}], {}, r"messages\[0\] must be a dict"),
        ([{"role": "user", "content": "  "}], {}, r"messages\[0\] content is empty"),
        ([*HI, {"role": "assistant", "content": "hello"}], {}, "must end with a user message"),
        ([*HI, {"role": "system", "content": "late"}, *HI], {}, r"messages\[1\] is a system message"),
        ([{"role": "system", "content": "a"}, *HI], {"system_prompt": "b"}, "system prompt comes once"),
        (42, {}, "messages must be a list"),
        (HI, {"max_new_tokens": 0}, "max_new_tokens"),
        (HI, {"temperature": -0.1}, "temperature"),
        (HI, {"top_k": 0}, "top_k"),
        (HI, {"top_p": 0}, "top_p"),
        (HI, {"repetition_penalty": 0.5}, "repetition_penalty"),
        (HI, {"seed": -5}, "seed"),
        (HI, {"stop": "now"}, "stop"),
    ],
)
def test_chat_rejects_bad_fields(studio, messages, kwargs, field):
    with pytest.raises(ValueError, match=field):
        studio.chat(messages, **kwargs)
    with pytest.raises(ValueError, match=field):
        studio.stream_chat(messages, **kwargs)  # before anything is generated


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda s: s.next_token("", top_k=3), "text is empty"),
        (lambda s: s.next_token("   "), "text is empty"),
        (lambda s: s.next_token(DECK, top_k=0), "top_k"),
        (lambda s: s.next_token(DECK, top_k=101), "top_k"),
        (lambda s: s.next_token(DECK, append=3), "append"),
        (lambda s: s.text_to_text(""), "text is empty"),
        (lambda s: s.text_to_text(DECK, mode="poem"), "mode 'poem'"),
        (lambda s: s.text_to_text(DECK, mode="translate", target_language="klingon"), "target_language 'klingon'"),
        (lambda s: s.text_to_text(DECK, mode="instruct"), "instruction is empty"),
        (lambda s: s.text_to_text(DECK, mode="continue", instruction="shorter"), "instruction does not apply"),
        (lambda s: s.text_to_text(DECK, max_new_tokens=0), "max_new_tokens"),
    ],
)
def test_text_operations_reject_bad_fields(studio, call, field):
    with pytest.raises(ValueError, match=field):
        call(studio)


@pytest.mark.parametrize("mode", ["continue", "rewrite", "summarize", "translate", "instruct"])
def test_text_to_text_every_mode(studio, mode):
    extra = {"instruction": "Make it a haiku"} if mode == "instruct" else {}
    result = studio.text_to_text(DECK, mode=mode, target_language="French", seed=5, **extra)
    again = studio.text_to_text(DECK, mode=mode, target_language="fr", seed=5, **extra)
    assert isinstance(result.text, str) and result.text == again.text
    assert result.params["task"] == "text_to_text" and result.params["mode"] == mode
    assert result.params["target_language"] == "fr" and result.params["text"] == DECK


def test_mode_prompts_come_from_the_templates():
    modes = load_modes()
    assert set(modes.modes) >= {"continue", "rewrite", "summarize", "translate"}
    messages = modes.messages(modes.mode("TRANSLATE"), "Bonjour", modes.language("German"), "keep it formal")
    assert messages[-1]["role"] == "user"
    assert "German" in messages[-1]["content"] and "Bonjour" in messages[-1]["content"]
    assert "keep it formal" in messages[-1]["content"]
    assert not modes.mode("continue").prompt  # continued as written


def test_a_template_with_an_unknown_slot_is_refused(tmp_path):
    bad = tmp_path / "modes.toml"
    bad.write_text('[modes.shout]\nprompt = "{text} {volume}"\n[languages]\nen = "English"\n')
    with pytest.raises(ValueError, match="unknown slot {volume}"):
        load_modes(bad)


def test_stop_ends_the_reply_at_the_next_token(studio):
    asked = []
    result = studio.chat(HI, seed=1, max_new_tokens=100, stop=lambda: asked.append(1) or len(asked) >= 3)
    assert result.params["tokens"] == 3 and result.params["finish_reason"] == "stopped"
    assert any("stopped" in notice for notice in result.params["notices"])
    already = threading.Event()
    already.set()
    assert studio.chat(HI, seed=1, max_new_tokens=100, stop=already).params["tokens"] == 1


def test_stop_ends_a_stream_early(studio):
    stop = threading.Event()
    stream = studio.stream_chat(HI, seed=1, max_new_tokens=200, stop=stop)
    next(stream)
    stop.set()
    rest = list(stream)
    assert stream.result.params["finish_reason"] == "stopped"
    assert stream.result.params["tokens"] < 200
    assert stream.result.text.endswith("".join(rest))


def test_closing_a_stream_releases_the_model(studio):
    stream = studio.stream_chat(HI, seed=1, max_new_tokens=200)
    next(stream)
    stream.close()
    assert not any(t.name == "studio-text-generation" for t in threading.enumerate())
    assert studio.chat(HI, seed=7).text == studio.chat(HI, seed=7).text  # the model serves the next call


def test_a_stream_resumed_from_other_threads_frees_the_model(studio):
    # gradio resumes a streaming handler from whichever worker thread is free
    stream = studio.stream_chat(HI, seed=1)
    first = []
    elsewhere = threading.Thread(target=lambda: first.append(next(stream)))
    elsewhere.start()
    elsewhere.join()
    assert first[0] + "".join(stream) == studio.chat(HI, seed=1).text  # a held model would block this call


def test_save_and_read_recipe_round_trip(studio):
    result = studio.chat(HI, system_prompt="Answer briefly.", seed=7)
    paths = studio.save(result)
    assert [p.suffix for p in paths] == [".json", ".md"]
    for path in paths:
        recipe = studio.read_recipe(path)
        assert {k: recipe[k] for k in result.params} == result.params
    assert read_conversation(paths[0]) == [
        {"role": "system", "content": "Answer briefly."}, *HI, {"role": "assistant", "content": result.text}]
    assert result.text in paths[1].read_text(encoding="utf-8")

    text = studio.text_to_text(DECK, mode="summarize", seed=2)
    json_path, txt_path = studio.save(text)
    assert txt_path.suffix == ".txt" and txt_path.read_text(encoding="utf-8") == text.text
    assert studio.read_recipe(txt_path)["mode"] == "summarize" == studio.read_recipe(json_path)["mode"]

    table = studio.next_token(DECK, top_k=3)
    json_path, txt_path = studio.save(table)
    assert json.loads(json_path.read_text(encoding="utf-8"))["rows"] == [list(row) for row in table]
    assert studio.read_recipe(txt_path)["task"] == "next_token"


def test_read_conversation_refuses_what_is_not_one(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"messages": [{"role": "robot", "content": "x"}]}))
    with pytest.raises(ValueError, match="role"):
        read_conversation(path)
    path.write_text("[]")
    with pytest.raises(ValueError, match="no conversation"):
        read_conversation(path)


def test_cli_chat_writes_a_file_whose_recipe_reads_back(studio, tmp_path):
    from studio import Studio

    done = subprocess.run([sys.executable, "-m", "studio", "chat", "hi", "--preset", "tiny", "--seed", "7", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    paths = [line for line in done.stdout.splitlines() if line.startswith(str(tmp_path))]
    assert paths and all(Studio.read_recipe(p)["seed"] == 7 for p in paths)
    assert Studio.read_recipe(paths[0])["messages"] == [{"role": "user", "content": "hi"}]
    assert studio.chat("hi", seed=7).text in done.stdout


@pytest.fixture(scope="module")
def client(studio):
    from gradio_client import Client

    from studio.serving.serve import launch

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = launch(studio, port=port, block=False)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        client.app = app  # the UI-only handlers are reached through it
        yield client
    finally:
        app.close()


def test_chat_endpoint_takes_a_message_and_plain_history(client, studio):
    _, messages, recipe, saved = client.predict(message="hi", seed=7, api_name="/chat")
    assert messages == [{"role": "user", "content": "hi"}, {"role": "assistant", "content": studio.chat("hi", seed=7).text}]
    assert recipe["seed"] == 7 and studio.read_recipe(saved)["task"] == "chat"
    _, longer, recipe, _ = client.predict(message="and you?", history=messages, system_prompt="Be brief.", api_name="/chat")
    assert longer[:2] == messages and longer[2] == {"role": "user", "content": "and you?"}
    assert [m["content"] for m in recipe["messages"]] == [m["content"].strip() for m in longer[:3]]  # stripped, as checked
    assert recipe["system_prompt"] == "Be brief."


def test_text_to_text_endpoint_matches_the_studio(client, studio):
    text, recipe = client.predict(text=DECK, mode="summarize", seed=3, api_name="/text_to_text")
    assert text == studio.text_to_text(DECK, mode="summarize", seed=3).text and recipe["mode"] == "summarize"
    with pytest.raises(Exception, match="unknown mode 'poem'"):
        client.predict(text=DECK, mode="poem", api_name="/text_to_text")


def test_next_token_endpoint_gives_the_table(client, studio):
    label = client.predict(text=DECK, top_k=5, api_name="/next_token")
    confidences = [row["confidence"] for row in label["confidences"]]
    assert len(confidences) == 5 and confidences == sorted(confidences, reverse=True)
    table = studio.next_token(DECK, top_k=5)
    assert confidences == pytest.approx([p for _, p in table])
    assert label["label"] == table[0][0].replace(" ", "␣")


def handler(app, name: str):
    return next(d.fn for d in app.fns.values() if getattr(d.fn, "__name__", "") == name)


def test_chat_tab_retry_undo_and_reload(client, studio):
    class Request:
        session_hash = "test"

    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    *_, (shown, conversation, recipe, saved) = handler(client.app, "again")(history, "", 0.7, 0.9, 50, 24, 1.0, 5, None, Request())
    assert conversation == shown and recipe["messages"] == history[:1]
    assert conversation[-1] == {"role": "assistant", "content": studio.chat("hi", seed=5).text}
    assert handler(client.app, "take_back")(conversation) == ([], "hi")
    assert handler(client.app, "reload")(saved) == (conversation, "")


def test_text_tab_steps_append_the_chosen_or_most_likely_token(client, studio):
    import gradio as gr

    bars, tokens = handler(client.app, "next_token")(DECK, 3)
    assert list(bars.values()) == [p for _, p in studio.next_token(DECK, top_k=3)]
    shown = list(tokens)[1]
    text, bars, _ = handler(client.app, "step")(DECK, 3, tokens, None, gr.SelectData(None, {"index": 1, "value": shown}))
    assert text == DECK + tokens[shown]
    text, _, _ = handler(client.app, "most_likely")(DECK, 3, None)
    assert text == DECK + studio.next_token(DECK, top_k=1)[0][0]
