"""`POST /v1/chat/completions` and `POST /v1/completions`: the chat model, whole or streamed.

A reply is `Studio.chat`'s for the same messages and seed; streamed, its pieces
join to that same text. Stop strings end the reply where the first one starts
(the model stops at its next token). Streams are server-sent events in OpenAI's
chunk format, ending with `data: [DONE]`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, create_model

from studio import operations
from studio.serving.openai_api import models
from studio.serving.openai_api.errors import bad_field, from_studio

router = APIRouter()

# The studio's keyword -> the request field it comes from, for error messages.
ALIASES = {"max_new_tokens": "max_tokens", "text": "prompt"}
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
MAX_STOPS = 4
# Each stop string's length: the scanner compares every prefix of every stop with the text it holds back,
# so its work grows with the square of a stop's length (one of a million characters held the device for minutes).
MAX_STOP_CHARS = 1_000
# The sampling settings the studio declares for both chat and text-to-text: what a request may set.
_CHAT, _TEXT = (operations.get(name).settings() for name in ("chat", "text_to_text"))
SAMPLING = [setting for setting in _CHAT if setting.name in _TEXT]


class OpenAISampling(BaseModel):
    model_config = ConfigDict(extra="allow")  # fields of OpenAI's the studio has no use for are ignored

    model: str
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    stop: str | list[str] | None = None
    n: int | None = None
    stream: bool | None = False
    stream_options: dict | None = None
    logprobs: bool | int | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None


# OpenAI's fields, and the studio's own sampling settings beside them (top_k, ...), under their own names.
Sampling = create_model("Sampling", __base__=OpenAISampling, **{
    s.name: (s.type | None, None) for s in SAMPLING if s.name not in OpenAISampling.model_fields and s.name not in ALIASES})


class ChatRequest(Sampling):
    messages: list[Any]
    max_completion_tokens: int | None = None
    tools: list | None = None
    response_format: dict | None = None


class CompletionRequest(Sampling):
    prompt: str | list[str]
    echo: bool | None = False


def _settings(body: Sampling, max_tokens: int | None) -> dict:
    if body.n not in (None, 1):
        raise bad_field("n", f"n must be 1 (one reply per request), got {body.n!r}")
    if body.logprobs:
        raise bad_field("logprobs", "logprobs are not served; the studio's next-token view shows probabilities")
    for name in ("frequency_penalty", "presence_penalty"):
        if getattr(body, name) not in (None, 0):
            raise bad_field(name, f"{name} is not supported; use repetition_penalty (1 to 2) instead")
    return {**{s.name: getattr(body, s.name) for s in SAMPLING if s.name not in ALIASES}, "max_new_tokens": max_tokens}


def _stops(stop) -> list[str]:
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    if len(stops) > MAX_STOPS or not all(stops):
        raise bad_field("stop", f"stop must be up to {MAX_STOPS} non-empty strings, got {stop!r}")
    if longest := max((len(s) for s in stops if len(s) > MAX_STOP_CHARS), default=0):
        raise bad_field("stop", f"stop strings may be up to {MAX_STOP_CHARS:,} characters long, got one of {longest:,}")
    return stops


def _messages(messages: list) -> list[dict]:
    if not messages:
        raise bad_field("messages", "messages must hold at least one message")
    kept = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise bad_field(f"messages[{i}]", f"messages[{i}] must be an object with role and content")
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLES:  # a list or object as role is unhashable: check the type first
            raise bad_field(f"messages[{i}].role", f"messages[{i}].role must be one of {', '.join(ROLES)}; got {role!r} "
                            "(tools and function calls are not served)")
        if message.get("tool_calls"):
            raise bad_field(f"messages[{i}].tool_calls", "tool calls are not served")
        kept.append({"role": ROLES[role], "content": message.get("content")})
    return kept


class StopScanner:
    """Pieces in, text out up to the first stop string; what could be the start of one is held back."""

    def __init__(self, stops: list[str]):
        self.stops, self.held, self.hit = stops, "", False

    def feed(self, piece: str) -> str:
        if self.hit:
            return ""
        self.held += piece
        found = [i for i in (self.held.find(stop) for stop in self.stops) if i >= 0]
        if found:
            out, self.held, self.hit = self.held[:min(found)], "", True
            return out
        keep = max((k for stop in self.stops for k in range(1, min(len(stop), len(self.held) + 1))
                    if self.held.endswith(stop[:k])), default=0)
        out = self.held[:len(self.held) - keep]
        self.held = self.held[len(out):]
        return out

    def flush(self) -> str:
        out, self.held = ("" if self.hit else self.held), ""
        return out


def _finish_reason(result, scanner: StopScanner | None) -> str:
    if scanner is not None and scanner.hit:
        return "stop"
    return "length" if result.params.get("finish_reason") == "length" else "stop"


def _usage(result) -> dict:
    prompt, completion = int(result.params.get("prompt_tokens", 0)), int(result.params.get("tokens", 0))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _chat_until_stop(studio, messages, stops, settings) -> tuple[str, Any, StopScanner]:
    """The chat reply cut at the first stop string, read from the stream (on a worker thread)."""
    halt = threading.Event()
    scanner, text = StopScanner(stops), ""
    stream = studio.stream_chat(messages, stop=halt, **settings)
    try:
        for piece in stream:
            text += scanner.feed(piece)
            if scanner.hit:
                halt.set()  # the model stops at its next token; the loop drains to the result
    finally:
        stream.close()
    return text + scanner.flush(), stream.result, scanner


@router.post("/chat/completions")
async def chat_completions(body: ChatRequest, request: Request):
    ctx = request.app.state.ctx
    name = models.pick(ctx.studio, "chat", body.model)
    if body.tools:
        raise bad_field("tools", "tools are not served by this studio")
    if body.response_format and body.response_format.get("type", "text") != "text":
        raise bad_field("response_format", "response_format must be text; JSON modes are not served")
    settings = _settings(body, body.max_completion_tokens if body.max_completion_tokens is not None else body.max_tokens)
    settings.update(models.keywords(ctx.studio, "chat", name))
    messages, stops = _messages(body.messages), _stops(body.stop)
    reply = Reply("chat.completion", name)
    if body.stream:
        return await _stream_chat(ctx, reply, messages, stops, settings, body.stream_options)
    if stops:
        text, result, scanner = await ctx.run(_chat_until_stop, ctx.studio, messages, stops, settings, aliases=ALIASES)
    else:
        result = await ctx.run(ctx.studio.chat, messages, aliases=ALIASES, **settings)
        text, scanner = result.text, None
    await ctx.run(ctx.studio.save, result)
    choice = {"index": 0, "message": {"role": "assistant", "content": text}, "logprobs": None,
              "finish_reason": _finish_reason(result, scanner)}
    return reply.body(choices=[choice], usage=_usage(result), seed=result.params.get("seed"))


@router.post("/completions")
async def completions(body: CompletionRequest, request: Request):
    ctx = request.app.state.ctx
    name = models.pick(ctx.studio, "completions", body.model)
    prompt = body.prompt
    if isinstance(prompt, list):
        if len(prompt) != 1:
            raise bad_field("prompt", f"prompt must be one text (or a list of one), got a list of {len(prompt)}")
        prompt = prompt[0]
    settings, stops = {**_settings(body, body.max_tokens), **models.keywords(ctx.studio, "completions", name)}, _stops(body.stop)
    result = await ctx.run(ctx.studio.text_to_text, prompt, mode="continue", aliases=ALIASES, **settings)
    await ctx.run(ctx.studio.save, result)
    scanner = StopScanner(stops)
    text = scanner.feed(result.text) + scanner.flush()
    if body.echo:
        text = prompt + text
    choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": _finish_reason(result, scanner)}
    reply = Reply("text_completion", name)
    if not body.stream:
        return reply.body(choices=[choice], usage=_usage(result), seed=result.params.get("seed"))

    async def events():  # the continuation is made whole, then sent as one chunk
        yield reply.event(choices=[choice])
        if (body.stream_options or {}).get("include_usage"):
            yield reply.event(choices=[], usage=_usage(result))
        yield DONE

    return _sse(events())


DONE = "data: [DONE]\n\n"


class Reply:
    """The id, time and model every object (or chunk) of one reply shares."""

    def __init__(self, kind: str, model: str):
        prefix = "chatcmpl" if kind.startswith("chat") else "cmpl"
        self.id, self.kind, self.model, self.created = f"{prefix}-{uuid.uuid4().hex}", kind, model, int(time.time())

    def body(self, *, kind: str | None = None, **fields) -> dict:
        return {"id": self.id, "object": kind or self.kind, "created": self.created, "model": self.model, **fields}

    def event(self, **fields) -> str:
        kind = "chat.completion.chunk" if self.kind.startswith("chat") else self.kind
        return f"data: {json.dumps(self.body(kind=kind, **fields), ensure_ascii=False)}\n\n"


def _sse(events) -> StreamingResponse:
    return StreamingResponse(events, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _next_piece(stream) -> str | None:
    return next(stream, None)


async def _stream_chat(ctx, reply: Reply, messages, stops, settings, options) -> StreamingResponse:
    halt = threading.Event()
    stream = await ctx.run(ctx.studio.stream_chat, messages, stop=halt, aliases=ALIASES, **settings)  # bad input: 400 here
    try:
        # The first piece waits for the device and loads the model: a full queue or a model that
        # cannot load is answered with its status, before the 200 of a stream.
        first = await ctx.run(_next_piece, stream, aliases=ALIASES)  # its errors name the request field (max_tokens)
    except BaseException:
        await anyio.to_thread.run_sync(stream.close)
        raise
    scanner = StopScanner(stops)

    def chunk(delta: dict, finish: str | None = None) -> str:
        return reply.event(choices=[{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}])

    async def events():
        try:
            yield chunk({"role": "assistant", "content": ""})
            piece = first
            while piece is not None:
                if text := scanner.feed(piece):
                    yield chunk({"content": text})
                if scanner.hit:
                    halt.set()
                piece = await anyio.to_thread.run_sync(_next_piece, stream, limiter=ctx.limiter())
            if text := scanner.flush():
                yield chunk({"content": text})
            result = stream.result
            await anyio.to_thread.run_sync(ctx.studio.save, result, limiter=ctx.limiter())
            yield chunk({}, _finish_reason(result, scanner))
            if (options or {}).get("include_usage"):
                yield reply.event(choices=[], usage=_usage(result))
        except Exception as error:  # after the 200: the error goes in the stream, as OpenAI's does
            yield f"data: {json.dumps({'error': from_studio(error, ALIASES).response_body()})}\n\n"
        finally:
            with anyio.CancelScope(shield=True):  # a client that left: stop the model at its next token
                await anyio.to_thread.run_sync(stream.close)
        yield DONE

    return _sse(events())
