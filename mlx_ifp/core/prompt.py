"""Prompts: chat formatting (a conversation's tokens to train on), the first user turn, and
the tokens a mask source reads (token ids given by the user checked, the hash a text's mask is
cached and saved under) and a task's example prompts read from a file."""

from __future__ import annotations

import functools
import hashlib
import json
import numbers
import re
from pathlib import Path

from ..common import UsageError

#: ``repick=None``: how often a trained predictor re-picks a per-prompt mask during the reply.
#: Chosen by a rule fixed before measuring it (docs/results/reroute/): the lowest validation KL
#: among N in {8, 16, 32} that decode at >= 0.85x the speed of one mask per prompt on the
#: 2-core CPU (N=16 0.88x since re-picks write slots by put_along_axis; N=8 0.81x). Other
#: sources re-pick only when asked. (Here, beside the prompt it reads, for every stage.)
DEFAULT_REPICK = 16


def has_chat_template(tokenizer) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def messages_for(prompt: str | list[dict], system_prompt: str | None = None) -> list[dict]:
    """A message list from a plain prompt (a user turn) or an existing message list; a
    ``system_prompt`` goes first (refused if the list has a system message of its own); ``""``
    too, as mlx-lm sends it (a chat template's default system message is then left out)."""
    head = [{"role": "system", "content": system_prompt}] if system_prompt is not None else []
    if not isinstance(prompt, list):
        return head + [{"role": "user", "content": prompt}]
    if head and any(isinstance(m, dict) and m.get("role") == "system" for m in prompt):
        raise UsageError("system_prompt given, but the message list has a system message")
    return head + list(prompt)


def check_prompt(prompt) -> None:
    """A prompt is text or a list of chat messages (dicts with a role and text content)."""
    if isinstance(prompt, str):
        return
    if isinstance(prompt, list) and prompt and all(isinstance(m, dict) for m in prompt):
        for m in prompt:
            if not isinstance(m.get("role"), str):
                raise UsageError(f"every chat message needs a role (a str), got {m!r:.60}")
            if not isinstance(m.get("content"), str):
                got = type(m.get("content")).__name__
                raise UsageError(f"a {m['role']} message's content must be a str, got {got}")
        return
    if isinstance(prompt, list | tuple) and not prompt:  # (no messages, no new token ids)
        raise UsageError(f"the prompt is empty (an empty {type(prompt).__name__})")
    held = isinstance(prompt, list | tuple)  # what it holds: strs are a batch, one prompt a call
    held = f" of {', '.join(dict.fromkeys(type(m).__name__ for m in prompt))}" if held else ""
    raise UsageError(
        f"the prompt must be a str or a list of chat messages, got {type(prompt).__name__}{held}"
        + (" (decode bytes to text first)" if isinstance(prompt, bytes | bytearray) else "")
    )


def first_user_turn(messages: list[dict]) -> str:
    """The content of the first user message (what the mask is selected from by default)."""
    for m in messages:
        if m.get("role") == "user":
            return str(m.get("content", ""))
    raise UsageError("the prompt has no user turn")


def prefilled(messages) -> bool:
    """Whether a message list ends with an assistant message with text: the reply's start,
    which the reply continues (an assistant prefill, as llama.cpp's server takes it)."""
    last = messages[-1] if isinstance(messages, list) and messages else None
    text = last.get("content") if isinstance(last, dict) and last.get("role") == "assistant" else ""
    return isinstance(text, str) and bool(text.strip())


def format_chat(tokenizer, messages: list[dict], **template) -> str:
    """The prompt text the model sees: the chat template applied (with the extra arguments
    ``template``, e.g. ``enable_thinking=False``: refused without a template), ready for the
    reply; a final assistant message with text (``prefilled``) is the reply's start, left open
    (``continue_final_message``, as ``mlx_lm generate --prefill-response``: one line for a
    template that cannot keep it as given), an empty one opens the reply (llama.cpp's)."""
    if template and not has_chat_template(tokenizer):
        raise UsageError("chat_template_config given, but the tokenizer has no chat template")
    if not has_chat_template(tokenizer):  # (an empty system prompt adds no line)
        return "\n".join(
            str(m["content"]) for m in messages if m["content"] or m["role"] != "system"
        )
    last = messages[-1].get("role") if messages else None
    if not (prefill := prefilled(messages)) and last == "assistant":
        messages = messages[:-1]  # nothing prefilled: the reply opens after the turn before
    how = {"continue_final_message": True} if prefill else {"add_generation_prompt": True}
    try:
        return tokenizer.apply_chat_template(messages, tokenize=False, **how, **template)
    except Exception as e:  # transformers' ValueError for a text the template alters, jinja2's
        if not prefill:
            raise
        raise UsageError(
            "the chat template cannot continue the final assistant message (a prefill): "
            + " ".join(str(e).split())
        ) from None


def utf8(text: str) -> str:
    """``text``, refused in one line if it holds a lone surrogate (bytes decoded with
    ``surrogateescape``, JSON's ``"\\ud800"``): the tokenizer's ``TypeError`` names nothing."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        bad = f"U+{ord(text[e.start]):04X}"
        raise UsageError(
            f"the prompt (or task) is not UTF-8 text: a lone surrogate, {bad}"
        ) from None
    return text


def encode(tokenizer, text: str) -> list[int]:
    """Tokens of a formatted text (special tokens are already in it when templated)."""
    text = utf8(text)
    bos = getattr(tokenizer, "bos_token", None)
    special = not (bos and text.startswith(bos))
    return tokenizer.encode(text, add_special_tokens=special, **quiet(tokenizer))


def quiet(tokenizer) -> dict:
    """``encode``'s keywords that keep a Hugging Face tokenizer from warning on stderr about a
    text longer than its ``model_max_length``: the length is checked against the model's
    context where it matters, in one error line."""
    return {"verbose": False} if hasattr(tokenizer, "model_max_length") else {}


def turn_tokens(tokenizer, text: str, **template) -> list[int]:
    """Tokens of ``text`` as a lone user turn: how a mask source reads a prompt or task (a
    prompt formatted with extra chat template arguments: with them, as ``format_chat``)."""
    if not text or not text.strip():
        raise UsageError("the prompt (or task) is empty")
    if has_chat_template(tokenizer) or template:  # (``encode`` checks the text)
        return encode(tokenizer, format_chat(tokenizer, messages_for(text), **template))
    return tokenizer.encode(utf8(text), **quiet(tokenizer))


def reply_tokens(tokenizer, reply: str, end: bool = True) -> list[int]:
    """A reply's tokens after its prompt (no BOS), then the end of sequence unless ``end`` is
    False (a reply cut at a length limit)."""
    eos = getattr(tokenizer, "eos_token_id", None) if end else None
    tail = [eos] if eos is not None else []
    return [*tokenizer.encode(utf8(reply), add_special_tokens=False), *tail]


def chat_parts(tokenizer, messages: list[dict], tools=None) -> tuple[list[int], list[int]]:
    """(prompt tokens ready for the reply, full tokens) of a conversation ending in a reply;
    ``tools`` (mlx-lm's tools format) go to the chat template, as mlx-lm gives them."""
    if not messages or messages[-1].get("role") != "assistant":
        raise UsageError("the conversation must end with an assistant message")
    if has_chat_template(tokenizer):
        kw = {"tools": tools} if tools is not None else {}
        full = tokenizer.apply_chat_template(messages, return_dict=False, **kw)
        head = tokenizer.apply_chat_template(
            messages[:-1], add_generation_prompt=True, return_dict=False, **kw
        )
        return list(head), list(full)
    if tools or any("tool_calls" in m for m in messages):
        what = "'tools'" if tools else "'tool_calls'"
        raise UsageError(f"{what} needs a chat template, and this tokenizer has none")
    head = tokenizer.encode(format_chat(tokenizer, messages[:-1]) + "\n")
    return list(head), list(head) + reply_tokens(tokenizer, str(messages[-1]["content"]))


def example_tokens(tokenizer, example: dict) -> list[int]:
    """A task example ``{"prompt": ..., "completion": ...}`` as a mask source reads it: the
    prompt as a lone user turn, then the reply's tokens and the end of sequence (as the reply
    would run; a prompt, or a ``{"prompt"}`` alone, is the prompt's turn)."""
    if isinstance(example, str):  # (an empty one: ``turn_tokens``'s refusal)
        return turn_tokens(tokenizer, example)
    example = check_example(example)
    prompt, reply = example["prompt"], example.get("completion", "")
    tokens = turn_tokens(tokenizer, prompt)
    return [*tokens, *reply_tokens(tokenizer, reply)] if reply.strip() else tokens


def check_example(example):
    """A task example as given: a prompt (non-empty text), or ``{"prompt": str}`` with an
    optional ``"completion"`` (its reply); one line otherwise."""
    if isinstance(example, str) and example.strip():
        return example
    ok = isinstance(example, dict) and not set(example) - {"prompt", "completion"}
    ok = ok and isinstance(example.get("prompt"), str) and example["prompt"].strip() != ""
    if not (ok and isinstance(example.get("completion", ""), str)):
        what = 'a prompt, or {"prompt": str, "completion": str}'
        raise UsageError(f"a task example is {what}, got {example!r:.60}")
    return example


def read_examples(path) -> list[str | dict]:
    """Examples of one task from a file: a ``.jsonl`` of ``{"prompt": ...}`` objects (with a
    ``"completion"``: the prompt and its reply) or JSON strings, else one prompt per line: a
    ``task=`` argument (``mlx_ifp generate --task @FILE``)."""
    path = Path(path)
    if not path.exists() or path.is_dir():  # (a pipe is read: --task @<(cmd))
        raise UsageError(f"task examples file not found: {path}")
    try:
        lines = [ln for ln in path.read_text(encoding="utf-8-sig").splitlines() if ln.strip()]
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None
    out = lines
    if path.suffix.lower() == ".jsonl":  # TASK.JSONL too
        out = []
        for i, line in enumerate(lines, 1):
            try:
                item = json.loads(line)
            except json.JSONDecodeError as e:
                raise UsageError(f"{path}:{i}: not JSON ({e.msg})") from None
            item = item if isinstance(item, dict) else {"prompt": item}
            text, reply = item.get("prompt"), item.get("completion")
            if not isinstance(text, str) or not text.strip() or not isinstance(reply, str | None):
                raise UsageError(f'{path}:{i}: expected {{"prompt": "..."}} or a JSON string')
            out.append(text if reply is None else {"prompt": text, "completion": reply})
    if not out:
        raise UsageError(f"{path} holds no example prompts")
    return out


def spaced_reply(records, tokenizer):
    """Records of a reply that continues text (an assistant prefill, a raw completion), the
    leading space mlx-lm's streaming detokenizers drop put back on the first one with text
    (llama.cpp's server's: "It is" + " a"), where the reply's tokens start with one: decoded
    (byte-level "Ġ"), or SentencePiece's "▁", which its decoder strips: one space, where the
    text streamed has fewer than the tokens (an indent "ĠĠĠ" streams as two spaces, not three).
    Each record's ``text`` is changed in place; the others go through as they are."""
    head = []  # the reply's tokens until one has text (a character may span several)
    piece = getattr(tokenizer, "convert_ids_to_tokens", lambda i: None)
    for r in records:
        if head is not None:
            head.append(r.token)
            if r.text:
                pieces = "".join(str(piece(i)) for i in head).replace("\u2581", " ")
                if _spaces(r.text) < max(_spaces(tokenizer.decode(head)), _spaces(pieces)):
                    r.text = " " + r.text
                head = None
        yield r


def _spaces(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


def token_text(tokenizer, token: int) -> tuple[str, list[int]]:
    """A token's own text and UTF-8 bytes: a SentencePiece "▁" is its leading space (which
    decoding a lone token drops); a token holding part of a character (byte-level BPE's, the
    ``<0xE6>`` byte fallback) decodes to U+FFFD, and its bytes are its own."""
    text = tokenizer.decode([token])
    piece = getattr(tokenizer, "convert_ids_to_tokens", lambda i: None)(token)
    piece = piece if isinstance(piece, str) else ""
    if piece.startswith("\u2581") and not text.startswith(" "):
        text = " " + text
    table = _byte_level()  # GPT-2's printable stand-ins for the 256 bytes ("Ġ": a space)
    if "\ufffd" in text and re.fullmatch(r"<0x[0-9A-Fa-f]{2}>", piece):
        return text, [int(piece[3:5], 16)]
    if "\ufffd" in text and piece and all(c in table for c in piece):
        return text, [table[c] for c in piece]
    return text, list(text.encode())


@functools.cache
def _byte_level() -> dict[str, int]:
    shown = [*range(33, 127), *range(161, 173), *range(174, 256)]
    hidden = [b for b in range(256) if b not in shown]
    stand_in = {b: b for b in shown} | {b: 256 + i for i, b in enumerate(hidden)}
    return {chr(c): b for b, c in stand_in.items()}


def vocab_size(model) -> int | None:
    """The model's vocabulary size, if its config states one."""
    return getattr(getattr(model, "args", None), "vocab_size", None)


class ContextFull(UserWarning):
    """The reply asked for does not fit the model's context after the prompt: it stops there."""


def context_length(model) -> int | None:
    """The model's maximum context, if its config states one."""
    args = getattr(model, "args", None)
    for name in ("max_position_embeddings", "max_seq_len", "context_length"):
        value = getattr(args, name, None)
        if value:
            return int(value)
    return None


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def token_ids(tokens, model) -> list[int]:
    """Token ids (a list or tuple, or an MLX or NumPy array, of ints) as a list, each inside
    ``model``'s vocabulary; one clear line otherwise (text, floats, nesting, another vocab)."""
    if hasattr(tokens, "tolist") and not isinstance(tokens, list | tuple):
        tokens = tokens.tolist()
    ids = isinstance(tokens, list | tuple)  # NumPy's (and MLX's) integer scalars too:
    tokens = [t.item() if getattr(t, "ndim", None) == 0 else t for t in tokens] if ids else tokens
    if not ids or not all(isinstance(t, int) and not isinstance(t, bool) for t in tokens):
        raise UsageError(
            f"token ids must be a list of ints (tokenizer.encode(text)), got "
            f"{type(tokens).__name__} {tokens!r:.40}"
        )
    vocab = vocab_size(model)
    if bad := [t for t in tokens if t < 0 or (isinstance(vocab, int) and t >= vocab)]:
        raise UsageError(f"token id {bad[0]} is outside the model's vocabulary [0, {vocab})")
    return list(tokens)


def prompt_ids(prompt, model) -> list[int] | None:
    """A prompt given as token ids (mlx-lm takes a list of ints or an array), checked as
    ``token_ids``; None for text or a list of chat messages."""
    text = isinstance(prompt, list | tuple) and (not prompt or isinstance(prompt[0], dict | str))
    ids = isinstance(prompt, list | tuple) or hasattr(prompt, "tolist")
    ids = ids and not isinstance(prompt, str)  # a NumPy string (np.str_) has tolist too
    return token_ids(prompt, model) if ids and not text else None


def check_step(step, name: str = "prefill_step_size", low: int = 1) -> int:
    """A prefill's chunk of tokens (or with ``low`` another count, a rotating cache's window): a
    whole number >= ``low`` (one clear line otherwise, not a ``range()`` error, MLX's shape
    error from the attention or an untrimmable KV cache)."""
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < low:
        raise UsageError(f"{name} must be a whole number of tokens >= {low}, got {step!r}")
    return int(step)


#: what ``format_chat`` gives the chat template itself: not a ``chat_template_config``'s to set
TEMPLATE_OWN = ("conversation", "messages", "tokenize", "add_generation_prompt")
TEMPLATE_OWN += ("continue_final_message", "return_dict")


def check_chat(system_prompt=None, chat_template=True, config=None, ids=None) -> dict:
    """The chat arguments: ``system_prompt`` a str (or None), ``chat_template`` True or False,
    ``chat_template_config`` (None: none) extra chat template arguments, e.g. ``{"enable_thinking":
    False}``: a dict with str keys or its JSON text (mlx-lm's ``--chat-template-config``), which
    needs the template and a text prompt (token ``ids`` are sent as they are). Returns a dict."""
    if not isinstance(system_prompt, str | None) or not isinstance(chat_template, bool):
        raise UsageError("system_prompt must be a str (or None), chat_template True or False")
    if ids is not None and system_prompt:
        raise UsageError("token ids are sent as they are: give a text prompt with system_prompt")
    text, config = config, config if not isinstance(config, str) else read_object(config)
    ok = config is None or isinstance(config, dict) and all(isinstance(k, str) for k in config)
    if not ok or (isinstance(text, str) and config is None):  # (JSON's null)
        raise UsageError(f"chat_template_config must be a JSON object (a dict with str keys), "
                         f"got {text!r:.60}")  # fmt: skip
    if own := [k for k in config or () if k in TEMPLATE_OWN]:
        raise UsageError(f"chat_template_config cannot set {', '.join(own)}: generation does")
    if config and (ids is not None or not chat_template):
        raise UsageError("chat_template_config needs the chat template (and a text prompt)")
    return dict(config or {})


def read_object(text: str):
    """JSON text as ``chat_template_config`` takes it (one line if it is not JSON)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"chat_template_config is not JSON ({e.msg})") from None


def chat_tokens(tokenizer, prompt, ids, system_prompt=None, chat_template=True, config=None):
    """A call's prompt: its first user turn as a per-prompt mask reads it (as formatted with
    ``config``'s template arguments: its tokens; else its text) and the tokens sent; token
    ``ids`` are both, sent as they are, and so are the tokens of messages that end with the
    reply's start (``prefilled``: ``--prefill-response``'s). The chat arguments: ``check_chat``."""
    template = check_chat(system_prompt, chat_template, config, ids)
    if ids is not None:
        return ids, ids
    messages = messages_for(prompt, system_prompt)
    if not (user := first_user_turn(messages)).strip():
        raise UsageError("the prompt is empty")
    if not chat_template and len(messages) > 1:  # only the first user turn is sent
        raise UsageError("without the chat template only the prompt text is sent: give one user "
                         "turn and no system_prompt, or chat_template=True")  # fmt: skip
    text = format_chat(tokenizer, messages, **template) if chat_template else user
    if prefilled(messages):  # the reply's start: the mask reads the prompt as sent, it too
        return (tokens := encode(tokenizer, text)), tokens
    return (turn_tokens(tokenizer, user, **template) if template else user), encode(tokenizer, text)


def yaml_problem(e: Exception) -> str:
    """A PyYAML error as the tail of one line (``", line L, column C: what"``): its own message
    runs over several lines and names the file ``"<unicode string>"``."""
    import yaml

    if isinstance(e, yaml.MarkedYAMLError):
        at = e.problem_mark or e.context_mark
        where = f", line {at.line + 1}, column {at.column + 1}" if at else ""
        said = e.problem or e.context  # (a second document: "but found another ...")
        said = f"{e.context}, {said}" if e.context and said.startswith("but ") else said
        return f"{where}: {' '.join(said.split())}"
    if isinstance(e, yaml.reader.ReaderError):  # a control character: its first line
        return f", character {e.position}: {str(e).splitlines()[0]}"
    return f": {' '.join(str(e).split())}"
