"""Text operations: chat, text-to-text and the next-token view (one language model)."""

from __future__ import annotations

import threading
from contextlib import contextmanager

from studio.base import StudioBase


class TextTasks(StudioBase):
    def chat(
        self,
        messages: list[dict] | str,
        *,
        system_prompt: str | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        max_new_tokens: int | None = None,
        repetition_penalty: float | None = None,
        seed: int | None = None,
        model: str | None = None,
        stop=None,
    ):
        """The assistant's reply to a conversation, as a TextResult.

        `messages`: [{"role": "system"|"user"|"assistant", "content": "..."}], ending
        with a user message; a plain text is one user message. `temperature` 0 is
        greedy decoding. `seed` None or -1 draws one (recorded in the result).
        `stop`: a threading.Event (or a function returning True) that ends the
        reply at the next token. Turns that outgrow the model's context are left
        out, oldest first, never the system prompt (`params["notices"]` says so).
        """
        settings = self._text_settings("chat", locals(), model)
        with self._language_model("chatting", model) as lm:
            return self._finish(lm.chat(messages, **settings))

    def stream_chat(
        self,
        messages: list[dict] | str,
        *,
        system_prompt: str | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        max_new_tokens: int | None = None,
        repetition_penalty: float | None = None,
        seed: int | None = None,
        model: str | None = None,
        stop=None,
    ):
        """The reply of `chat`, as an iterator of text pieces while they are generated.

        The pieces join to the reply `chat` gives for the same seed; the
        TextResult is in the iterator's `.result` once it is exhausted. Bad input
        raises here; the model loads on the first piece. `close()` stops it.
        """
        settings = self._text_settings("chat", locals(), model)
        from pipelines.stopping import stop_check
        from pipelines.text import LanguageModel, TextStream
        from pipelines.worker import run_in_worker

        LanguageModel.check_chat(messages, **settings)
        asked = stop_check(settings.get("stop"))
        closing = threading.Event()  # the consumer closed the stream: stop at the next token
        settings["stop"] = lambda: closing.is_set() or bool(asked and asked())

        # The model is taken, run and released by the worker's one thread: a consumer such as
        # gradio may resume the stream from a different thread each time, which could not release it.
        def reply(emit):
            with self._language_model("chatting", model) as lm:
                return self._finish(lm.chat(messages, callback=emit, **settings))

        return TextStream(run_in_worker(reply, name="studio-text-stream"), closing)

    def text_to_text(
        self,
        text: str,
        *,
        mode: str | None = None,
        target_language: str | None = None,
        instruction: str | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        max_new_tokens: int | None = None,
        repetition_penalty: float | None = None,
        seed: int | None = None,
        model: str | None = None,
        stop=None,
    ):
        """`text` continued, rewritten, summarized or translated, as a TextResult.

        `mode`: continue | rewrite | summarize | translate | instruct (prompts in
        presets/prompts/text_modes.toml). `target_language`: a code or English
        name ("fr", "French") for translate. `instruction`: a free instruction
        added to the mode's prompt (the whole task in mode instruct).
        """
        settings = self._text_settings("text_to_text", locals(), model)
        with self._language_model("transforming text", model) as lm:
            return self._finish(lm.text_to_text(text, **settings))

    def next_token(self, text: str, *, top_k: int | None = None, append: str | None = None, model: str | None = None):
        """The `top_k` most likely next tokens of `text`: [(token, probability), ...], most likely first.

        Computed from the model's logits; the top row is the token greedy decoding
        picks. Step mode: `append` (a token of the previous table) is added to
        `text` first; the new text is in `params["text"]`.
        """
        settings = self._text_settings("next_token", locals(), model)  # the table's top_k: no preset sets it
        with self._language_model("predicting the next token", model) as lm:
            return self._finish(lm.next_token(text, **settings))

    def _text_settings(self, operation: str, given: dict, model: str | None = None):
        """`_settings` for one of the language model's operations on `model`; they share [text.defaults]."""
        return self._settings(operation, given, model=self.model_ref("text", model))

    @contextmanager
    def _language_model(self, doing: str, model: str | None = None):
        """`model` (default: the preset's language model), held for one call; out of memory while `doing` becomes a clear error."""
        from pipelines.text import LanguageModel

        loaded = self.model_ref("text", model)
        with self._guard(doing), self._use("text", loaded, LanguageModel.from_pretrained) as lm:
            yield lm

