"""Chat and Text → Text tabs: a streamed conversation, text modes, the next-token table.

Endpoints: `chat(message, history, system_prompt, ...)` streams the conversation
(history plus the new exchange), then returns it with the recipe and the saved
JSON; `text_to_text(text, mode, ...)`; `next_token(text, top_k)` returns the
table as a label of token -> probability. Stop, retry, undo, clear, reload and
the next-token steps are UI-only events.
"""

from __future__ import annotations

import threading

import gradio as gr

from studio.ui.errors import guard
from studio.ui.fields import File, spread, widget, widgets
from studio.ui.i18n import t
from studio.ui.model_picker import client_model, model_dropdown
from studio.ui.parts import TabParts
from studio.ui.streaming import waiting
from studio.ui.zerogpu import gpu_task

TEXTS = {
    "tab_chat": ("Chat", "Agent conversationnel"),
    "tab_t2t": ("Text → Text", "Texte à partir de texte"),
    "txt_conversation": ("Conversation", "Conversation"),
    "txt_history": ("Messages (JSON)", "Messages (JSON)"),
    "txt_message": ("Message", "Message"),
    "txt_send": ("Send", "Envoyer"),
    "txt_stop": ("Stop", "Arrêter"),
    "txt_retry": ("Retry", "Réessayer"),
    "txt_undo": ("Undo", "Annuler"),
    "txt_clear": ("Clear", "Effacer"),
    "txt_settings": ("Settings", "Réglages"),
    "txt_files": ("Save and reload", "Enregistrer et recharger"),
    "txt_saved": ("Saved conversation (JSON)", "Conversation enregistrée (JSON)"),
    "txt_load": ("Reload a saved conversation (.json)", "Recharger une conversation enregistrée (.json)"),
    "txt_recipe": ("Recipe", "Recette"),
    "txt_text": ("Text", "Texte"),
    "txt_run": ("Run", "Lancer"),
    "txt_output": ("Result", "Résultat"),
    "txt_next_title": ("Next token: what the model predicts", "Prochain jeton : ce que prédit le modèle"),
    "txt_next_text": ("Beginning of a text", "Début d'un texte"),
    "txt_next_show": ("Predict the next token", "Prédire le prochain jeton"),
    "txt_next_greedy": ("Add the most likely", "Ajouter le plus probable"),
    "txt_next_table": ("Next token (click one to add it; ␣ is a space)",
                       "Prochain jeton (cliquer pour l'ajouter ; ␣ est une espace)"),
}


def _sampling(studio) -> list[str]:
    """The sampling settings, shared by chat and Text → Text, in API order."""
    text_to_text = studio.settings("text_to_text")
    return [name for name in studio.settings("chat").names() if name in text_to_text]


def _sampling_fields(settings, names: list[str]) -> dict:
    """The sampling settings' inputs, two a row; the seed shows -1 (a random one)."""
    fields = {}
    for pair in (names[i:i + 2] for i in range(0, len(names), 2)):
        with gr.Row():
            fields.update(widgets(settings, pair, seed={"value": -1}))
    return fields


def chat_tab(studio, gpu: dict) -> TabParts:
    declared = studio.settings("chat")
    stops: dict[str, threading.Event] = {}  # session -> its running reply's stop request
    with gr.Tab(t("tab_chat"), id="chat"):
        chatbot = gr.Chatbot(label=t("txt_conversation"), height=460, buttons=["copy", "copy_all"])
        # The reply's notices ("reached max_new_tokens") stay with the conversation, not in a toast over every tab.
        notice = gr.Markdown("", elem_classes="chat-notice")
        # The conversation as plain {"role", "content"} messages: what the API takes and gives back.
        history = gr.JSON(value=[], visible=False, label=t("txt_history"))
        with gr.Row():
            message = gr.Textbox(label=t("txt_message"), placeholder="Bonjour ! Qui es-tu ?", scale=5, lines=1)
            send = gr.Button(t("txt_send"), variant="primary", scale=1)
            stop = gr.Button(t("txt_stop"), variant="stop", scale=1)
        with gr.Row():
            retry, undo, clear = (gr.Button(t(key), size="sm") for key in ("txt_retry", "txt_undo", "txt_clear"))
        with gr.Accordion(t("txt_settings"), open=False):
            system_prompt = widget(declared["system_prompt"], placeholder="You are a helpful assistant. Answer briefly.", lines=2)
            fields = {"system_prompt": system_prompt, **_sampling_fields(declared, _sampling(studio))}
            model = model_dropdown(studio, "text")
        with gr.Accordion(t("txt_files"), open=False), gr.Row():
            saved = gr.File(label=t("txt_saved"), interactive=False)
            load = File(label=t("txt_load"), file_types=[".json"], type="filepath")
            recipe = gr.JSON(label=t("txt_recipe"), open=False)
        gr.Examples([["Bonjour ! Qui es-tu ?"], ["Explain diffusion models in two sentences."]], inputs=[message])

    def reply(shown, request, **settings):
        """Stream the reply to `shown` (the conversation so far) into the chatbot, then save it."""
        session = request.session_hash if request else ""
        halt = threading.Event()
        settings["model"] = client_model(settings.get("model"))
        stream = studio.stream_chat(shown, stop=halt, **settings)  # bad input raises here, before anything shows
        stops[session] = halt
        try:
            text = ""
            yield [*shown, {"role": "assistant", "content": text}], gr.skip(), gr.skip(), gr.skip()
            for piece in stream:
                text += piece
                yield [*shown, {"role": "assistant", "content": text}], gr.skip(), gr.skip(), gr.skip()
            result = stream.result
            paths = studio.save(result)
            conversation = [*shown, {"role": "assistant", "content": result.text}]
            yield conversation, conversation, result.params, str(paths[0])
        finally:
            stream.close()  # a browser that left stops the generation at its next token
            if stops.get(session) is halt:
                del stops[session]

    @guard
    @gpu_task("chat")
    @spread(fields)
    def chat(message, history, settings, model, request: gr.Request):
        shown = [*_history(history), {"role": "user", "content": message}]
        yield from reply(shown, request, **settings, model=model)

    @guard
    @gpu_task("chat")
    @spread(fields)
    def again(history, settings, model, request: gr.Request):
        yield from reply(_without_reply(history), request, **settings, model=model)

    def take_back(history):
        shown = _without_reply(history)
        return shown[:-1], shown[-1]["content"] if shown else ""

    def request_stop(request: gr.Request):
        if request and request.session_hash in stops:
            stops[request.session_hash].set()

    @guard
    def reload(path):
        from studio.outputs.text import read_conversation

        messages = read_conversation(path)
        system = messages[0]["content"] if messages[0]["role"] == "system" else ""
        return [m for m in messages if m["role"] != "system"], system

    private = {"api_visibility": "private"}
    settings = [*fields.values(), model]
    outputs = [chatbot, history, recipe, saved]
    replies = [send.click(chat, [message, history, *settings], outputs, api_name="chat", **gpu),
               message.submit(chat, [message, history, *settings], outputs, **private, **gpu),
               retry.click(again, [history, *settings], outputs, **private, **gpu)]
    for reply_event in replies:
        reply_event.success(_notices, recipe, notice, queue=False, **private)
    for trigger in (send.click, message.submit, retry.click):  # registered after the reply, which has read its inputs by then
        trigger(lambda: "", None, notice, queue=False, **private)
    for trigger in (send.click, message.submit):
        trigger(lambda: "", None, message, queue=False, **private)
    stop.click(request_stop, None, None, queue=False, **private)
    undo.click(take_back, history, [history, message], queue=False, **private)
    clear.click(lambda: ([], None, None), None, [history, recipe, saved], queue=False, **private)
    load.upload(reload, load, [history, system_prompt], queue=False, **private)
    history.change(lambda messages: messages, history, chatbot, queue=False, **private)  # undo, clear, reload, restore
    return TabParts("chat", ("chat",), {"messages": history, **fields, "model": model, "message": message},
                    {"conversation": history})


def _notices(recipe) -> str:
    return "\n".join(f"ⓘ {notice}" for notice in (recipe or {}).get("notices", []))


def _history(history) -> list:
    """The conversation so far as a list (none: empty); the studio checks each message."""
    if history is None:
        return []
    if not isinstance(history, list):
        raise ValueError(f"history must be a list of {{'role', 'content'}} messages, got {type(history).__name__}")
    return list(history)


def _without_reply(history) -> list[dict]:
    """The conversation up to its last user message."""
    shown = _history(history)
    while shown and isinstance(shown[-1], dict) and shown[-1].get("role") == "assistant":
        shown.pop()
    return shown


def _visible(token: str) -> str:
    return token.replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥") or "∅"


def _table(table) -> tuple[dict, dict]:
    """The label's {shown token: probability} and {shown token: token} (shown names kept unique)."""
    bars, tokens = {}, {}
    for token, probability in table:
        name = _visible(token)
        while name in tokens:
            name += "\u200b"  # two tokens can print alike; the label needs distinct keys
        bars[name], tokens[name] = probability, token
    return bars, tokens


def text_to_text_tab(studio, gpu: dict) -> list[TabParts]:
    declared, rows_setting = studio.settings("text_to_text"), studio.settings("next_token")["top_k"]  # the table's, not sampling's
    with gr.Tab(t("tab_t2t"), id="text_to_text"):
        with gr.Row():
            with gr.Column():
                text = gr.Textbox(label=t("txt_text"), lines=6, placeholder="Paste a text to rewrite, summarize or translate")
                # allow_custom_value: an unknown mode or language reaches the studio, whose error names it and the choices
                fields = widgets(declared, ["mode", "target_language", "instruction"], mode={"allow_custom_value": True},
                                 target_language={"allow_custom_value": True},
                                 instruction={"placeholder": "in a formal tone"})
                with gr.Row():
                    run = gr.Button(t("txt_run"), variant="primary", scale=3)
                    stop_text = gr.Button(t("txt_stop"), variant="stop", scale=1)
                with gr.Accordion(t("txt_settings"), open=False):
                    fields.update(_sampling_fields(declared, _sampling(studio)))
                    model = model_dropdown(studio, "text")
                gr.Examples([["L'intelligence artificielle générative crée de nouvelles données à partir d'exemples.",
                              "summarize"], ["Un renard roux court dans la neige.", "translate"]], inputs=[text, fields["mode"]])
            with gr.Column():
                output = gr.Textbox(label=t("txt_output"), lines=12, buttons=["copy"])
                recipe = gr.JSON(label=t("txt_recipe"), open=False)
        with gr.Accordion(t("txt_next_title"), open=True), gr.Row():
            with gr.Column():
                prefix = gr.Textbox(label=t("txt_next_text"), lines=3, placeholder="Je suis allé voir Emilie. C'est une")
                rows = widget(rows_setting)
                with gr.Row():
                    show = gr.Button(t("txt_next_show"), variant="primary")
                    greedy = gr.Button(t("txt_next_greedy"))
                gr.Examples([["Je suis allé voir Emilie. C'est une"], ["The quick brown fox"]], inputs=[prefix])
            table = gr.Label(label=t("txt_next_table"), num_top_classes=int(rows_setting.high))
        choices = gr.State({})

    @guard
    @gpu_task("text_to_text")
    @spread(fields)
    def text_to_text(text, settings, model=None, progress=gr.Progress()):
        progress(0, desc="generating")
        result = yield from waiting(lambda stop: studio.text_to_text(text, **settings, model=client_model(model), stop=stop), 2)
        studio.save(result)
        yield result.text, result.params

    @guard
    @gpu_task("next_token")
    @spread({"top_k": rows})
    def next_token(text, settings, model=None):
        found = studio.next_token(text, **settings, model=client_model(model))
        studio.save(found)
        return _table(found)

    # Steps are not saved: a walk is many clicks; "Predict" saves the table of where it got to.
    @guard
    @gpu_task("next_token")
    def step(text, top_k, shown, model, event: gr.SelectData):
        found = studio.next_token(text, top_k=top_k, append=shown.get(event.value, ""), model=client_model(model))
        return found.params["text"], *_table(found)

    @guard
    @gpu_task("next_token")
    def most_likely(text, top_k, model):
        best = studio.next_token(text, top_k=1, model=client_model(model))[0][0]
        found = studio.next_token(text, top_k=top_k, append=best, model=client_model(model))
        return found.params["text"], *_table(found)

    inputs = [text, *fields.values(), model]
    generating = run.click(text_to_text, inputs, [output, recipe], api_name="text_to_text", **gpu)
    stop_text.click(None, None, None, cancels=[generating], queue=False, api_visibility="private")
    show.click(next_token, [prefix, rows, model], [table, choices], api_name="next_token", **gpu)
    prefix.submit(next_token, [prefix, rows, model], [table, choices], api_visibility="private", **gpu)
    table.select(step, [prefix, rows, choices, model], [prefix, table, choices], api_visibility="private", **gpu)
    greedy.click(most_likely, [prefix, rows, model], [prefix, table, choices], api_visibility="private", **gpu)
    return [TabParts("text_to_text", ("text_to_text",), {"text": text, **fields, "model": model}, {"text": output}),
            TabParts("text_to_text", ("next_token",), {"text": prefix, "top_k": rows})]
