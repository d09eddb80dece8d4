"""OpenAI requests parsed and checked against the server's ``Limits``, and OpenAI's error shape.

Everything here is plain Python (no web framework): a request body (already decoded JSON) goes
in, a validated ``GenRequest`` comes out, or an ``APIError`` with the HTTP status to answer.
Bad values are 400s, as OpenAI answers; values of the wrong JSON type have ``code: invalid_type``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

ROLES, MAX_STOPS = ("system", "developer", "user", "assistant", "tool"), 4
MAX_TOKENS = ("max_completion_tokens", "max_tokens")  # one setting: two values are a 400
ONE_SETTING = "'{}' and '{}' name one setting: give one"


@dataclass
class Limits:
    """Server-wide limits: a request's body, tokens and time (queued, generating); the queue."""

    max_body_bytes: int = 1 << 20
    max_tokens_limit: int = 2048
    default_max_tokens: int = 256
    timeout_s: float = 300.0
    max_queue: int = 64


class APIError(Exception):
    """An error answered in OpenAI's shape: ``{"error": {message, type, param, code}}``."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None):  # fmt: skip
        super().__init__(message)
        self.status, self.message, self.type = status, message, type
        self.param, self.code = param, code

    def body(self) -> dict:
        """The JSON body of the error response."""
        error = dict(message=self.message, type=self.type, param=self.param, code=self.code)
        return {"error": error}


@dataclass
class GenRequest:
    """A validated completion request (chat or plain)."""

    model: str  # "": none named (the app puts the served base model's id)
    prompt: str | list  # chat: a message list; completions: the raw text or its token ids
    chat: bool
    max_tokens: int
    max_tokens_given: bool = True  # False: the server's default, cut to the context's room
    temperature: float = 0.0
    top_p: float = 1.0
    min_p: float = 0.0  # mlx-lm's server and llama.cpp's extensions
    top_k: int = 0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    repetition_penalty: float | None = None  # mlx-lm's server and llama.cpp's repeat_penalty
    repetition_context_size: int = 20
    stream: bool = False
    include_usage: bool = False
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    user: str | None = None
    logprobs: int | None = None  # alternatives per reply token; None: no log-probabilities
    logit_bias: dict[int, float] | None = None
    template: dict | None = None  # chat_template_kwargs (mlx-lm's and llama.cpp's servers')


def _wrong_type(message: str, param: str) -> APIError:
    return APIError(400, message, param=param, code="invalid_type")


def _typed(body: dict, name: str, types: type | tuple, what: str, within: str = "") -> Any:
    """``body[name]`` if of ``types`` (None if not given), else a 400 naming ``within + name``."""
    value, path = body.get(name), within + name  # OpenAI's "stream_options.include_usage"
    types = types if isinstance(types, tuple) else (types,)
    ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
    if not ok and value is not None:
        raise _wrong_type(f"'{path}' must be {what}", path)
    return value


def _number(body: dict, name: str, default: float, low: float, high: float):
    value = _typed(body, name, (int, float), "a number")
    if value is None:
        return default
    if not _finite(value) or value > high or value < low:
        raise APIError(400, f"'{name}' must be in [{low}, {high}], got {value}", param=name)
    return float(value)


def _finite(value: int | float) -> bool:
    """A JSON number a float can hold (an integer of 400 digits cannot)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _repetition(body: dict, name: str = "repetition_penalty") -> float | None:
    value = _typed(body, name, (int, float), "a number")
    if value is not None and not (_finite(value) and value >= TINY):
        raise APIError(400, f"'{name}' must be >= {TINY} (1 is off), got {value}", param=name)
    return None if value is None else float(value)


MAX_WINDOW = 1 << 20  # the library's (inference.MAX_WINDOW; a test checks they agree)
TINY = 1e-30  # the library's smallest temp and penalty (inference.sampling.TINY)
OFF = {"repetition": 1, "presence": 0, "frequency": 0}  # each penalty's value that is off


def _context_size(body: dict, name: str = "repetition_context_size") -> int:
    value = _typed(body, name, int, "an integer")
    if value is not None and not 1 <= value <= MAX_WINDOW:
        raise APIError(400, f"'{name}' must be in [1, {MAX_WINDOW}], got {value}", param=name)
    return 20 if value is None else value


def _window(body: dict) -> int:
    """One window for every penalty (mlx-lm's server: one each, 20 by default): those given for
    the penalties on (the repetition penalty's always) must agree; the others follow."""
    size = {p: _context_size(body, f"{p}_context_size") for p in OFF}
    on = [p for p, off in OFF.items() if body.get(f"{p}_penalty") not in (None, off)]
    on = [p for p in on if p == "repetition" or body.get(f"{p}_context_size") is not None]
    for p in (p for p in on if size[p] != size[on[0]]):
        msg = f"'{p}_context_size' ({size[p]}) and '{on[0]}_context_size' ({size[on[0]]}) differ"
        raise APIError(400, f"{msg}: one window serves every penalty", param=f"{p}_context_size")
    return size[on[0]] if on else size["repetition"]


def _min_p(body: dict) -> float:
    value = _number(body, "min_p", 0.0, 0.0, 1.0)
    if value == 1:
        raise APIError(400, "'min_p' must be in [0, 1) (0: off), got 1", param="min_p")
    return value


def _top_k(body: dict) -> int:
    value = _typed(body, "top_k", int, "an integer")
    if value is not None and value < 0:
        raise APIError(400, f"'top_k' must be >= 0 (0: off), got {value}", param="top_k")
    return value or 0


def _tokens(body: dict, name: str, limits: Limits) -> int | None:
    value = _typed(body, name, int, "an integer")
    if value is not None and value <= 0:
        raise APIError(400, f"'{name}' must be positive, got {value}", param=name)
    if value is not None and value > limits.max_tokens_limit:
        most = limits.max_tokens_limit
        raise APIError(400, f"'{name}' is {value}; this server allows at most {most}", param=name)
    return value


def _max_tokens(body: dict, limits: Limits) -> int:
    """``max_completion_tokens`` or ``max_tokens`` (both checked; differing: a 400), or default."""
    given = {v for name in MAX_TOKENS if (v := _tokens(body, name, limits)) is not None}
    if len(given) > 1:  # as n_predict beside either (parse_request)
        raise APIError(400, ONE_SETTING.format(*reversed(MAX_TOKENS)), param="max_tokens")
    return given.pop() if given else min(limits.default_max_tokens, limits.max_tokens_limit)


def _stop(body: dict) -> list[str]:
    stop = body.get("stop")
    stops = [] if stop is None else [stop] if isinstance(stop, str) else stop
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise _wrong_type("'stop' must be a string or a list of strings", "stop")
    if len(stops) > MAX_STOPS or any(not s for s in stops):
        raise APIError(400, f"'stop' takes 1 to {MAX_STOPS} non-empty strings", param="stop")
    return stops


#: settings we cannot honour (OpenAI's, llama.cpp's, mlx-lm's), with their values that ask nothing
INERT = {"echo": (None, False), "tool_choice": (None, "none", "auto"), "audio": (None,)}
INERT.update(function_call=(None, "none", "auto"), modalities=(None, ["text"]))
INERT.update(ignore_eos=(None, False), xtc_probability=(None, 0), adapters=(None,))
INERT.update(reasoning_effort=(None,), web_search_options=(None,), verbosity=(None, "medium"))
INERT.update(mirostat=(None, 0), tfs_z=(None, 1), dry_multiplier=(None, 0), n_probs=(None, 0))
INERT.update(min_keep=(None, 0, 1), typical_p=(None,), top_n_sigma=(None,), dynatemp_range=(None,))
INERT.update(n_indent=(None, 0), t_max_predict_ms=(None, 0), lora=(None, []))
INERT.update(post_sampling_probs=(None, False))
OFF_IN = dict(typical_p=(1, math.inf), top_n_sigma=(-math.inf, 0), dynatemp_range=(-math.inf, 0))


def _unsupported(body: dict) -> None:
    """Refuse what this server cannot do rather than silently ignore it."""
    for name in ("n", "best_of"):
        if (n := _typed(body, name, int, "an integer")) not in (None, 1):
            raise APIError(400, f"only {name}=1 is supported, got {n}", param=name)
    for name, inert in INERT.items():
        value, (low, high) = body.get(name), OFF_IN.get(name, (1, 0))  # [1, 0]: no number
        if value not in inert and not (type(value) in (int, float) and low <= value <= high):
            shown = json.dumps(body[name])[:40]
            raise APIError(400, f"'{name}': {shown} is not supported by this server", param=name)
    for name in ("tools", "functions", "suffix", "grammar", "json_schema"):  # llama.cpp's last 2
        if body.get(name) or (name == "json_schema" and body.get(name) is not None):
            raise APIError(400, f"'{name}' is not supported by this server", param=name)
    fmt = body.get("response_format")
    if fmt is not None and (not isinstance(fmt, dict) or fmt.get("type") != "text"):
        msg = "only response_format {'type': 'text'} is supported"
        raise APIError(400, msg, param="response_format")


def _content(message: dict, i: int) -> str:
    """A message's text; errors name the value's path, as OpenAI's: ``messages[0].content``."""
    content, path = message.get("content"), f"messages[{i}].content"
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise _wrong_type("'content' must be a string or a list of parts", path)
    for j, part in enumerate(content):  # content parts: text only
        if not isinstance(part, dict) or part.get("type") != "text":
            raise APIError(400, "only text content parts are supported", param=f"{path}[{j}].type")
        if not isinstance(part.get("text"), str):
            raise _wrong_type("a text part needs a string 'text'", f"{path}[{j}].text")
    return "".join(part["text"] for part in content)


def _logprobs(body: dict, chat: bool) -> int | None:
    """Alternatives to report per reply token, None for no log-probabilities: chat's
    ``logprobs: true`` with ``top_logprobs`` (0 to 20), the completions' ``logprobs`` (0 to 5)."""
    name, most = ("top_logprobs", 20) if chat else ("logprobs", 5)
    n = _typed(body, name, int, "an integer")
    if n is not None and not 0 <= n <= most:
        raise APIError(400, f"'{name}' must be in [0, {most}], got {n}", param=name)
    if not chat:
        return n
    if not _typed(body, "logprobs", bool, "a boolean"):
        if n is not None:
            raise APIError(400, "'top_logprobs' needs 'logprobs': true", param="top_logprobs")
        return None
    return n or 0


def _logit_bias(body: dict) -> dict[int, float] | None:
    """OpenAI's ``logit_bias``: token ids (JSON's keys are strings) to a number in [-100, 100]
    added to their logits; ids past the model's vocabulary are refused where it is known."""
    bias = _typed(body, "logit_bias", dict, "an object") or {}
    ok = all(type(v) in (int, float) and -100 <= v <= 100 for v in bias.values())
    if not ok or not all(k.isascii() and k.strip().isdigit() and len(k) < 20 for k in bias):
        what = "'logit_bias' maps token ids to numbers in [-100, 100]"
        raise APIError(400, f"{what}, got {json.dumps(bias)[:80]}", param="logit_bias")
    return {int(k): float(v) for k, v in bias.items()} or None


def _messages(body: dict) -> list[dict]:
    messages = _typed(body, "messages", list, "a list")
    if messages is None:
        raise APIError(400, "'messages' is required", param="messages")
    if not messages:
        raise APIError(400, "'messages' is empty", param="messages")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise _wrong_type("each message must be an object", f"messages[{i}]")
        role = m.get("role")
        if role not in ROLES:
            raise APIError(400, f"unknown role {role!r}", param=f"messages[{i}].role")
        role = "system" if role == "developer" else role
        out.append({"role": role, "content": _content(m, i)})
    users = [m for m in out if m["role"] == "user"]
    if not users or not users[0]["content"].strip():
        raise APIError(400, "the messages need a non-empty user message", param="messages")
    return out


def _prompt(body: dict) -> str | list[int]:
    """A text or one prompt's token ids (checked on the worker: ``registry``); not a batch."""
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str | list):
        prompt = prompt[0]
    if prompt is None:
        raise APIError(400, "'prompt' is required", param="prompt")
    if isinstance(prompt, list) and prompt and all(isinstance(p, str | list) for p in prompt):
        msg = f"'prompt' holds {len(prompt)} prompts: this server takes one per request"
        raise APIError(400, msg, param="prompt")
    if prompt == [] or isinstance(prompt, str) and not prompt.strip():
        raise APIError(400, "'prompt' is empty", param="prompt")
    ids = isinstance(prompt, list) and all(type(t) is int and t >= 0 for t in prompt)
    if not ids and not isinstance(prompt, str):
        raise _wrong_type("'prompt' must be a string or a list of token ids (ints >= 0)", "prompt")
    return prompt


#: llama.cpp's server names for the same settings: taken, not silently ignored (checked under
#: their own names); its -1 is "no limit" (n_predict's default) and "the whole context"
LLAMA_CPP = {"n_predict": "max_tokens", "repeat_penalty": "repetition_penalty"}
LLAMA_CPP["repeat_last_n"] = "repetition_context_size"
MINUS_ONE = {"n_predict": None, "repeat_last_n": MAX_WINDOW}


def parse_request(body: Any, chat: bool, limits: Limits) -> GenRequest:
    """Validate a ``/v1/chat/completions`` (``chat``) or ``/v1/completions`` request body."""
    if not isinstance(body, dict):
        raise APIError(400, "the request body must be a JSON object")
    checks = {"n_predict": lambda b, n: _tokens(b, n, limits), "repeat_last_n": _context_size}
    checks["repeat_penalty"] = _repetition  # each checks a value under the name it was sent as
    for alias, name in LLAMA_CPP.items():
        if (value := body.get(alias)) is None:  # null: not given, as for every other name
            continue
        value = MINUS_ONE.get(alias, value) if value == -1 and type(value) is int else value
        if value is not None:
            checks[alias]({alias: value}, alias)
        for same in (name, "max_completion_tokens") if alias == "n_predict" else (name,):
            if body.get(same) is not None and body[same] != value:
                raise APIError(400, ONE_SETTING.format(alias, same), param=alias)
        body = {**body, name: value}
    model = body.get("model")  # none: the served base model's (set by the app), as llama.cpp's
    if model is not None and (not isinstance(model, str) or not model):  # and mlx-lm's servers
        raise _wrong_type("'model' must be a non-empty string", "model")
    _unsupported(body)
    options = _typed(body, "stream_options", dict, "an object")
    if options is not None and body.get("stream") is not True:  # as OpenAI answers it
        msg = "'stream_options' is only allowed when 'stream' is true"
        raise APIError(400, msg, param="stream_options")
    seed = _typed(body, "seed", int, "an integer")
    if seed is not None and not -(2**63) <= seed < 2**63:
        raise APIError(400, "'seed' must be a 64-bit integer", param="seed")
    include_usage = _typed(options or {}, "include_usage", bool, "a boolean", "stream_options.")
    template = _typed(body, "chat_template_kwargs", dict, "an object")
    if template and not chat:  # a completion's prompt is sent as it is: no template takes them
        msg = "'chat_template_kwargs' applies to /v1/chat/completions only"
        raise APIError(400, msg, param="chat_template_kwargs")
    temperature = _number(body, "temperature", 0.0, 0.0, 2.0)
    if 0 < temperature < TINY:  # the generator's floor: the logits would leave float32
        msg = f"'temperature' must be 0 or >= {TINY}, got {temperature}"
        raise APIError(400, msg, param="temperature")
    top_p = _number(body, "top_p", 1.0, 0.0, 1.0)
    if top_p == 0:  # OpenAI's reading: only the most likely token (greedy)
        temperature, top_p = 0.0, 1.0
    return GenRequest(
        model=model or "",
        prompt=_messages(body) if chat else _prompt(body),
        chat=chat,
        max_tokens=_max_tokens(body, limits),
        max_tokens_given=any(body.get(k) is not None for k in MAX_TOKENS),
        temperature=temperature,
        top_p=top_p,
        min_p=_min_p(body),
        top_k=_top_k(body),
        presence_penalty=_number(body, "presence_penalty", 0.0, -2.0, 2.0),
        frequency_penalty=_number(body, "frequency_penalty", 0.0, -2.0, 2.0),
        repetition_penalty=_repetition(body),
        repetition_context_size=_window(body),
        stream=bool(_typed(body, "stream", bool, "a boolean")),
        include_usage=bool(include_usage),
        stop=_stop(body),
        seed=None if seed == -1 else seed,  # llama.cpp's -1 (its default): a random seed
        user=_typed(body, "user", str, "a string"),
        logprobs=_logprobs(body, chat),
        logit_bias=_logit_bias(body),
        template=template,
    )


def check_room(req: GenRequest, prompt: int, limit: int | None) -> int:
    """``max_tokens`` if the prompt and it fit the model's context of ``limit`` tokens (what the
    generator checks the prompt against); a 400 ``context_length_exceeded`` if not, as OpenAI
    answers. A default ``max_tokens`` is cut to the room left instead."""
    if not limit or prompt + req.max_tokens <= limit:
        return req.max_tokens
    if prompt < limit and not req.max_tokens_given:
        return limit - prompt
    what = "messages" if req.chat else "prompt"
    msg = (
        f"This model's maximum context length is {limit} tokens. However, you requested "
        f"{prompt + req.max_tokens} tokens ({prompt} in the {what}, {req.max_tokens} in "
        f"the completion). Please reduce the length of the {what} or completion."
    )
    raise APIError(400, msg, param=what, code="context_length_exceeded")


class StopFilter:
    """Cuts a text stream at the first stop string; never emits any part of a stop string."""

    def __init__(self, stops: list[str]):
        self.stops, self.buffer = [s for s in stops if s], ""
        self.hold = max((len(s) for s in self.stops), default=1) - 1  # the most held back

    def push(self, text: str) -> tuple[str, bool]:
        """Add streamed text; returns (text safe to emit now, whether a stop string was hit)."""
        self.buffer += text
        hits = [i for i in (self.buffer.find(s) for s in self.stops) if i >= 0]
        if hits:
            out, self.buffer = self.buffer[: min(hits)], ""
            return out, True
        n, stops = len(self.buffer), self.stops  # held: only a tail that may begin a stop
        starts = range(max(n - self.hold, 0), n)  # string (as llama.cpp's, mlx-lm's servers)
        cut = next((i for i in starts if any(s.startswith(self.buffer[i:]) for s in stops)), n)
        out, self.buffer = self.buffer[:cut], self.buffer[cut:]
        return out, False

    def flush(self) -> str:
        """What is still held back, once the stream has ended without a stop string."""
        out, self.buffer = self.buffer, ""
        return out
