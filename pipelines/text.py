"""Chat, text-to-text and the next-token view over a transformers causal LM.

Any causal LM with a chat template (SmolLM2, Qwen2.5, Llama 3 instruct, a local
folder) loads through `LanguageModel.from_pretrained`; `next_token` and the
`continue` mode work without a template.

A reply goes: 1. check the inputs, 2. fit the conversation into the context
(the oldest turns leave first, never the system prompt), 3. seed torch's
generator, 4. `generate` with the model's own generation config (its end
tokens and suppressed tokens) overridden by the sampling settings, 5. record
the recipe. Streaming runs the same `generate` in a worker thread
(`pipelines.worker`) with a streamer handing out each piece, so the pieces join
to the non-streamed reply. A stop request is checked after every token by a
`StoppingCriteria`.

The settings of each call (`CHAT`, `TEXT_TO_TEXT`, `NEXT_TOKEN`) are declared
once here; the sampling ones (`SAMPLING`) are shared by chat and text-to-text
and carry generate's own names. `next_token`'s `top_k` is the table's size,
another setting than the sampling `top_k`.

transformers' `generate` draws from torch's global generator (it takes no
generator of its own): the seed is set right before it, and the model cache
runs one call per model at a time.

torch and transformers are imported inside the methods, so importing this
module (the UI reads the signatures for its defaults) stays cheap.
"""

from __future__ import annotations

import copy
import functools
import inspect
import threading
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any, TypedDict, Unpack

from pipelines import checks
from pipelines.devices import precision_of, seeded
from pipelines.loading import SAFE_LOAD
from pipelines.results import TextResult
from pipelines.settings import SEED, Setting, Settings, checked
from pipelines.stopping import Stop, stop_check, stopping_criteria
from pipelines.text_modes import load_modes
from pipelines.worker import run_in_worker
from pipelines.wrapper import Wrapper

ROLES = ("system", "user", "assistant")
MAX_MESSAGES = 500
MAX_MESSAGE_CHARS = 20_000
MAX_TEXT_CHARS = 20_000
MAX_NEW_TOKENS = 4096
MAX_TABLE_ROWS = 100
MAX_TOKEN_CHARS = 200
HUGE = 10**8  # tokenizers without a limit report model_max_length as 1e30


def _check_append(name: str, value: Any) -> str:
    if not isinstance(value, str) or "\x00" in value or len(value) > MAX_TOKEN_CHARS:
        raise ValueError(f"{name} must be a token (text of at most {MAX_TOKEN_CHARS} characters), got {str(value)[:60]!r}")
    return checks.unicode(name, value)


def _modes() -> list[tuple[str, str]]:
    return [(f"{m.name}: {m.description}", m.name) for m in load_modes().modes.values()]


def _languages() -> list[tuple[str, str]]:
    return [(f"{name} ({code})", code) for code, name in load_modes().languages.items()]


# Their names are generate's own (but the seed's), so they go to the generation config as they are.
SAMPLING = Settings(
    Setting("temperature", float, 0.7, low=0.0, high=2.0, step=0.05,
            help=("Temperature (0 = always the most likely token)", "Température (0 = toujours le jeton le plus probable)")),
    Setting("top_p", float, 0.9, low=0.0, high=1.0, step=0.05, low_open=True, help=("Top-p", "Top-p")),
    Setting("top_k", int, 50, low=1, high=1000, help=("Top-k", "Top-k")),
    Setting("max_new_tokens", int, 512, low=1, high=MAX_NEW_TOKENS, help=("Max new tokens", "Nombre maximal de jetons")),
    Setting("repetition_penalty", float, 1.0, low=1.0, high=2.0, step=0.05,
            help=("Repetition penalty (1 = none)", "Pénalité de répétition (1 = aucune)")),
    SEED,
)
CHAT = Settings(
    Setting("system_prompt", str, "", max_chars=MAX_MESSAGE_CHARS, help=("System prompt", "Consigne système")),
) + SAMPLING
TEXT_TO_TEXT = Settings(
    # Modes and languages are read from presets/prompts/text_modes.toml at each call; a language is a code or its English name.
    Setting("mode", str, "continue", choices=_modes, help=("Mode", "Mode")),
    Setting("target_language", str, "en", choices=_languages, check_value=lambda name, value: load_modes().language(value),
            help=("Target language (translate)", "Langue cible (traduire)")),
    Setting("instruction", str, "", max_chars=MAX_MESSAGE_CHARS,
            help=("Instruction (optional; the whole task in mode instruct)", "Consigne (facultative ; toute la tâche en mode instruct)")),
) + SAMPLING
NEXT_TOKEN = Settings(  # not a preset's: [text.defaults] top_k is the sampling one
    Setting("top_k", int, 10, low=1, high=MAX_TABLE_ROWS, preset=False, help=("Tokens shown", "Jetons affichés")),
    Setting("append", str, "", check_value=_check_append, preset=False,
            help=("Token added to the text first (step mode)", "Jeton ajouté d'abord au texte (pas à pas)")),
)
D = (CHAT + TEXT_TO_TEXT).defaults


class Sampling(TypedDict, total=False):
    """The sampling settings chat and text_to_text share (declared in `SAMPLING`): their keys are
    `generate`'s, so they pass to its generation config as they are."""

    temperature: float
    top_p: float
    top_k: int
    max_new_tokens: int
    repetition_penalty: float
    seed: int | None

GENERATE = [name for name in SAMPLING.names() if name != "seed"]  # generation config fields

class TextStream(Iterator[str]):
    """The pieces of a reply as they are generated; `result` (a TextResult) once they are all out.

    `close()` (or leaving a `for` loop over it and dropping it) stops the
    generation at its next token.
    """

    def __init__(self, pieces: Generator[str, None, Any], closing: threading.Event | None = None):
        self._pieces = pieces
        self._closing = closing  # the generation's stop at its next token, set on close
        self.result: Any = None

    def __iter__(self) -> TextStream:
        return self

    def __next__(self) -> str:
        try:
            return next(self._pieces)
        except StopIteration as end:
            if end.value is not None:
                self.result = end.value
            raise StopIteration from None

    def close(self) -> None:
        if self._closing is not None:
            self._closing.set()
        self._pieces.close()

    def __del__(self) -> None:  # dropped unfinished: the pieces' generator waits for the worker, which stops at its next token
        if self._closing is not None:
            self._closing.set()


class TokenTable(list):
    """Rows `(token, probability)` of the most likely next tokens, most likely first; `params` is the recipe."""

    def __init__(self, rows: list[tuple[str, float]], params: dict[str, Any]):
        super().__init__(rows)
        self.params = params

    @property
    def text(self) -> str:
        """The table as lines of text: `' amie'  35.2%`."""
        return "\n".join(f"{token!r:<24} {probability:7.2%}" for token, probability in self)


def check_messages(messages: Any, system_prompt: Any = "") -> list[dict[str, str]]:
    """The conversation as plain `{"role", "content"}` dicts, the system prompt first.

    A text is one user message. Contents may be strings or lists of parts
    (`{"type": "text", "text": ...}`, as gradio and the OpenAI format give them).
    """
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    if not isinstance(messages, (list, tuple)):
        raise ValueError(f"messages must be a list of {{'role', 'content'}} dicts or a text, got {type(messages).__name__}")
    if not messages:
        raise ValueError("messages is empty: the conversation needs at least one user message")
    if len(messages) > MAX_MESSAGES:
        raise ValueError(f"messages has {len(messages)} messages; the limit is {MAX_MESSAGES}")
    system_prompt = checks.text("system_prompt", system_prompt, max_chars=MAX_MESSAGE_CHARS, allow_empty=True)
    conversation = [{"role": "system", "content": system_prompt}] if system_prompt else []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, Mapping) or "role" not in message or "content" not in message:
            raise ValueError(f"{where} must be a dict with 'role' and 'content', got {str(message)[:60]!r}")
        role = message["role"]
        if role not in ROLES:
            raise ValueError(f"{where} has unknown role {str(role)[:40]!r}; choose one of: {', '.join(ROLES)}")
        if role == "system" and (i > 0 or system_prompt):
            raise ValueError(f"{where} is a system message; the system prompt comes once, first (or as system_prompt)")
        content = checks.text(f"{where} content", _plain_text(where, message["content"]),
                              max_chars=MAX_MESSAGE_CHARS, allow_empty=role == "assistant")
        conversation.append({"role": role, "content": content})
    if conversation[-1]["role"] != "user":
        raise ValueError(f"messages must end with a user message, got a final {conversation[-1]['role']!r} message")
    return conversation


def fold_system(conversation: list[dict[str, str]]) -> list[dict[str, str]]:
    """The system message put at the head of the first user turn, for templates without a system role.

    Gemma's own templates do the same where they accept one: the instruction
    comes first, then a blank line, then the user's text.
    """
    system, *turns = conversation
    first = next(i for i, message in enumerate(turns) if message["role"] == "user")  # check_messages ends on one
    folded = {"role": "user", "content": f"{system['content']}\n\n{turns[first]['content']}"}
    return [*turns[:first], folded, *turns[first + 1:]]


def _plain_text(where: str, content: Any) -> Any:
    if isinstance(content, (list, tuple)):
        if not all(isinstance(part, Mapping) and part.get("type") == "text" for part in content):
            raise ValueError(f"{where} content holds parts other than text; the language model reads text only")
        return "".join(str(part.get("text", "")) for part in content)
    return content


class LanguageModel(Wrapper):
    """One causal LM and its tokenizer, serving chat, text-to-text and the next-token view."""

    kind = "language_model"  # for the number format (pipelines.devices)
    loading = "text generation"

    def __init__(self, model, tokenizer, name: str):
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.device = str(model.device)

    @classmethod
    def load_parts(cls, name: str, device: str, dtype) -> tuple:
        """A causal LM in `dtype` and its tokenizer."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(name)
        lm = AutoModelForCausalLM.from_pretrained(name, dtype=dtype, **SAFE_LOAD).to(device).eval()
        return lm, tokenizer

    @property
    def context_length(self) -> int:
        """Tokens the model reads at most: prompt and reply together."""
        # Multimodal LMs (Gemma 3 4B and up) keep the language model's limits in a text config.
        config = self.model.config.get_text_config()
        limits = [getattr(config, "max_position_embeddings", None), getattr(self.tokenizer, "model_max_length", None)]
        limits = [int(n) for n in limits if isinstance(n, (int, float)) and 0 < n < HUGE]
        return min(limits, default=HUGE)

    # -- chat -------------------------------------------------------------------

    @checked(CHAT)
    def chat(
        self,
        messages: list[dict] | str,
        *,
        system_prompt: str = D.system_prompt,
        stop: Stop = None,
        stream: bool = False,
        callback: Callable[[str], None] | None = None,
        **sampling: Unpack[Sampling],
    ) -> TextResult | TextStream:
        """The assistant's reply to `messages` (roles system, user, assistant; a text is one user message).

        `temperature` 0 is greedy decoding; above 0 samples with `top_p` and `top_k`.
        With `stream=True` returns a `TextStream` of text pieces instead; with a
        `callback`, the reply is generated here and each piece handed to it.
        When the conversation outgrows the context, the oldest turns are left out
        (never the system prompt) and `params["notices"]` says so.
        """
        max_new_tokens = sampling["max_new_tokens"]
        conversation = check_messages(messages, system_prompt)
        self._check_room(max_new_tokens)
        should_stop = stop_check(stop)
        _check_callback(callback)
        kept, dropped = self.fit_context(conversation, max_new_tokens)
        inputs = self._chat_inputs(kept)
        params = {"task": "chat", "model": self.name, "messages": conversation[1:] if system_prompt else conversation,
                  "system_prompt": system_prompt, **sampling}
        notices = []
        if dropped:
            params["dropped_messages"] = dropped
            notices.append(f"the conversation is longer than the model's context ({self.context_length} tokens, "
                           f"with room for max_new_tokens={max_new_tokens}): the {dropped} oldest "
                           f"message{'s were' if dropped > 1 else ' was'} left out (the system prompt stays)")
        return self._generate(inputs, params, notices, should_stop, stream=stream, callback=callback)

    @classmethod
    def check_chat(cls, messages: Any, **settings: Any) -> None:
        """Raise what `chat` would for bad input, without a model (the context is checked by `chat`)."""
        bound = inspect.signature(cls.chat).bind(None, messages, **settings)
        bound.apply_defaults()
        given = CHAT.check(bound.arguments)
        check_messages(messages, given["system_prompt"])
        stop_check(given["stop"])
        _check_callback(given["callback"])

    def fit_context(self, conversation: list[dict[str, str]], max_new_tokens: int) -> tuple[list[dict[str, str]], int]:
        """The messages that fit with room for `max_new_tokens`, and how many of the oldest were left out.

        The system prompt always stays; the kept turns start with a user message
        (chat templates expect user and assistant turns to alternate from a user turn).
        """
        budget = self.context_length - max_new_tokens
        system = conversation[:1] if conversation[0]["role"] == "system" else []
        turns = conversation[len(system):]
        if self._prompt_length(conversation) <= budget:
            return conversation, 0
        starts = [i for i, message in enumerate(turns) if message["role"] == "user" and i > 0]
        last = len(turns) - 1
        needed = self._prompt_length(system + turns[last:])
        if needed > budget:
            raise ValueError(
                f"messages[{last}] does not fit in the model's context: with the system prompt and the chat "
                f"template it takes {needed} tokens, and the model's {self.context_length}-token context leaves "
                f"{budget} after max_new_tokens={max_new_tokens}; shorten it (or the system prompt) or lower max_new_tokens"
            )
        # Fewer turns, shorter prompt: the first start that fits is found by bisection.
        low, high = 0, len(starts) - 1
        while low < high:
            middle = (low + high) // 2
            if self._prompt_length(system + turns[starts[middle]:]) <= budget:
                high = middle
            else:
                low = middle + 1
        return system + turns[starts[low]:], starts[low]

    def _prompt_length(self, conversation: list[dict[str, str]]) -> int:
        return int(self._chat_inputs(conversation)["input_ids"].shape[1])

    def _chat_inputs(self, conversation: list[dict[str, str]]):
        if not getattr(self.tokenizer, "chat_template", None):
            raise ValueError(
                f"model {self.name!r} has no chat template, so it cannot chat; use an instruct model "
                "(text_to_text mode 'continue' and next_token work with any causal LM)"
            )
        if conversation[0]["role"] == "system" and not self._template_takes_system:
            conversation = fold_system(conversation)
        try:
            return self.tokenizer.apply_chat_template(conversation, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        except Exception as error:  # jinja's TemplateError: the template refuses this conversation's shape
            if type(error).__name__ != "TemplateError":
                raise
            raise ValueError(f"model {self.name!r}'s chat template refused the messages: {error}") from error

    @functools.cached_property
    def _template_takes_system(self) -> bool:
        """Whether the chat template accepts a system message (Gemma 2's raises "System role not supported")."""
        probe = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
        try:
            self.tokenizer.apply_chat_template(probe, add_generation_prompt=True, tokenize=False)
        except Exception as error:
            if type(error).__name__ != "TemplateError":
                raise
            return False
        return True

    def _check_room(self, max_new_tokens: int) -> None:
        if max_new_tokens >= self.context_length:
            raise ValueError(
                f"max_new_tokens must be between 1 and {self.context_length - 1} for this model's "
                f"{self.context_length}-token context, got {max_new_tokens}"
            )

    # -- text to text -------------------------------------------------------------

    @checked(TEXT_TO_TEXT)
    def text_to_text(
        self,
        text: str,
        *,
        mode: str = D.mode,
        target_language: str = D.target_language,
        instruction: str = D.instruction,
        stop: Stop = None,
        **sampling: Unpack[Sampling],
    ) -> TextResult:
        """`text` continued, rewritten, summarized, translated (into `target_language`) or changed by `instruction`.

        Modes and their prompts: presets/prompts/text_modes.toml. `continue` feeds
        the text as written (no chat template) and returns what comes next; the
        other modes return the model's answer. `instruction` adds a free
        instruction to any chat mode; mode `instruct` is the instruction alone.
        """
        max_new_tokens = sampling["max_new_tokens"]
        checks.text("text", text, max_chars=MAX_TEXT_CHARS)
        modes = load_modes()
        chosen = modes.mode(mode)
        if chosen.requires_instruction and not instruction:
            raise ValueError(f"instruction is empty; mode {chosen.name!r} needs one (e.g. 'Make it a haiku')")
        if not chosen.prompt and instruction:
            raise ValueError(f"instruction does not apply to mode {chosen.name!r}, which continues the text as written; "
                             "choose rewrite, summarize, translate or instruct")
        self._check_room(max_new_tokens)
        should_stop = stop_check(stop)
        if chosen.prompt:
            inputs = self._chat_inputs(modes.messages(chosen, text.strip(), target_language, instruction))
        else:
            inputs = self.tokenizer(text, return_tensors="pt")  # as written: a trailing space changes the next token
        length = int(inputs["input_ids"].shape[1])
        if length + max_new_tokens > self.context_length:
            raise ValueError(
                f"text is too long for the model's context: its prompt takes {length} tokens, and the "
                f"{self.context_length}-token context leaves {self.context_length - max_new_tokens} "
                f"after max_new_tokens={max_new_tokens}; shorten it or lower max_new_tokens"
            )
        params = {"task": "text_to_text", "model": self.name, "text": text, "mode": chosen.name,
                  "target_language": target_language, "instruction": instruction, **sampling}
        return self._generate(inputs, params, [], should_stop)

    # -- generation ---------------------------------------------------------------

    def _generate(self, inputs, params: dict[str, Any], notices: list[str], should_stop, *, stream: bool = False,
                  callback: Callable[[str], None] | None = None):
        """The reply to `inputs`; with `stream`, a `TextStream` generating it in a worker thread; with `callback`,
        each piece is handed to it as it comes (the stream's worker hands them to the stream)."""
        import torch

        if stream:
            closing = threading.Event()  # set when the stream's consumer leaves early: stop at the next token

            def asked() -> bool:
                return closing.is_set() or bool(should_stop and should_stop())

            pieces = run_in_worker(lambda emit: self._generate(inputs, params, notices, asked, callback=emit),
                                   name="studio-text-generation")
            return TextStream(pieces, closing)
        inputs = inputs.to(self.device)
        criteria = stopping_criteria(lambda: bool(should_stop and should_stop()))
        config = self._generation_config(params)
        kwargs = {**inputs, "generation_config": config, "stopping_criteria": [criteria]}
        prompt_length = int(inputs["input_ids"].shape[1])
        streamer = _piece_streamer(self.tokenizer, callback) if callback is not None else None
        with torch.inference_mode(), seeded(params["seed"], self.device):
            sequences = self.model.generate(**kwargs, **({"streamer": streamer} if streamer else {}))
        new = sequences[0, prompt_length:].tolist()
        text = "".join(streamer.pieces) if streamer else self.tokenizer.decode(new, skip_special_tokens=True)
        ends = set(config.eos_token_id if isinstance(config.eos_token_id, list) else [config.eos_token_id])
        if criteria.fired:
            reason = "stopped"
            notices.append(f"stopped on request after {len(new)} tokens")
        elif new and new[-1] in ends:
            reason = "end"
        else:
            reason = "length"
            notices.append(f"the reply reached max_new_tokens ({params['max_new_tokens']}) and was cut off")
        recipe = {**params, "prompt_tokens": prompt_length, "tokens": len(new), "finish_reason": reason,
                  "dtype": precision_of(self.model)}
        if notices:
            recipe["notices"] = notices
        return TextResult(text=text, params=recipe)

    def _generation_config(self, params: dict[str, Any]):
        # The model's own config keeps its end tokens and suppressed tokens; sampling comes from the call.
        config = copy.deepcopy(self.model.generation_config)
        sampling = {name: params[name] for name in GENERATE}
        if params["temperature"] == 0:
            sampling.update(temperature=None, top_p=None, top_k=None)
        config.update(do_sample=params["temperature"] != 0, num_beams=1, **sampling)
        return config

    # -- the next token -------------------------------------------------------------

    @checked(NEXT_TOKEN)
    def next_token(self, text: str, *, top_k: int = NEXT_TOKEN.defaults.top_k, append: str = NEXT_TOKEN.defaults.append) -> TokenTable:
        """The `top_k` most likely next tokens of `text` with their probabilities, most likely first.

        Step mode: `append` (a token from the previous table) is added to `text`
        first, so a caller walks through generation one token at a time. The
        probabilities come from the model's logits after its own generation rules
        (suppressed tokens get 0), so the top row is the token greedy decoding picks.
        """
        checks.text("text", text, max_chars=MAX_TEXT_CHARS)
        text = text + append  # as written: the step's token keeps its leading space
        inputs = self.tokenizer(text, return_tensors="pt").to(self.device)
        length = int(inputs["input_ids"].shape[1])
        if length >= self.context_length:
            raise ValueError(f"text is {length} tokens long; the model's context holds {self.context_length - 1} before the next token")
        probabilities = self._next_probabilities(inputs)
        values, ids = probabilities.topk(min(top_k, probabilities.numel()))
        rows = [(self.tokenizer.decode([i]), float(p)) for i, p in zip(ids.tolist(), values.tolist(), strict=True) if p > 0]
        params = {"task": "next_token", "model": self.name, "text": text, "top_k": top_k, "dtype": precision_of(self.model)}
        if append:
            params["appended"] = append
        return TokenTable(rows, params)

    def _next_probabilities(self, inputs):
        import torch

        # One greedy step of generate: its scores are the logits after the model's own
        # processors (suppressed tokens, ...), exactly what greedy decoding takes the argmax of.
        config = self._generation_config({**vars(SAMPLING.defaults), "temperature": 0, "max_new_tokens": 1})
        config.update(output_scores=True, return_dict_in_generate=True)
        with torch.inference_mode():
            output = self.model.generate(**inputs, generation_config=config)
        return torch.softmax(output.scores[0][0].float(), dim=-1)


def _check_callback(callback: Any) -> None:
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be a function (piece), got {type(callback).__name__}")


def _piece_streamer(tokenizer, callback: Callable[[str], None]):
    """A streamer for `generate` handing each piece of text to `callback` (and keeping them: they join to the reply)."""
    from transformers import TextStreamer

    class Pieces(TextStreamer):
        def __init__(self):
            super().__init__(tokenizer, skip_prompt=True, skip_special_tokens=True)
            self.pieces: list[str] = []

        def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
            if text:
                self.pieces.append(text)
                callback(text)

    return Pieces()
