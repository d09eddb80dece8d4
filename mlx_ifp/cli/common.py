"""What every command shares: one-line errors with exit code 2, option types, input parsing."""

from __future__ import annotations

import functools
import sys
from typing import Annotated

import typer

from .. import UsageError

Model = Annotated[
    str,
    typer.Option(
        "--model",
        help="smollm2-135m-instruct or qwen2.5-coder-1.5b-instruct (embedded; the second is a "
        "1.1 GB download), a .gguf file, an mlx-lm folder or a Hugging Face repo id.",
    ),
]
Keep = Annotated[
    str,
    typer.Option("--keep", help="FFN channels kept per layer: a fraction in (0, 1] or a count."),
]
Source = Annotated[
    str, typer.Option("--mask-source", help="griffin, static, static-act, random or full.")
]
Task = Annotated[
    str | None,
    typer.Option(
        "--task",
        help="Select the mask from this task description instead of the "
        "prompt (one mask, cached, for every prompt of the task). @FILE: from the task's "
        'example prompts instead, one per line (or a .jsonl of {"prompt": ...}).',
    ),
]
Dequantize = Annotated[
    bool | None,
    typer.Option(
        "--dequantize/--no-dequantize", help="Unpack quantized weights (default: yes on CPU)."
    ),
]


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def handle_errors(fn):
    """Turn bad input into one line on stderr and exit code 2, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UsageError as e:
            fail(str(e))
        except KeyboardInterrupt as e:
            fail(str(e) or "interrupted", 130)

    return wrapper


def read_prompt(prompt: str | None) -> str:
    """The prompt text; ``-`` reads stdin, which must be UTF-8 text (not binary bytes)."""
    if prompt == "-":
        data = sys.stdin.buffer.read()
        try:
            prompt = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise UsageError(
                f"stdin is not UTF-8 text (byte {e.start}): give the prompt as text"
            ) from None
        if "\x00" in prompt:
            raise UsageError("stdin holds binary data (NUL bytes): give the prompt as text")
    if prompt is None or not prompt.strip():
        raise UsageError("the prompt is empty (give --prompt TEXT, or --prompt - to read stdin)")
    return prompt


def read_task(task: str | None) -> str | list[str] | None:
    """``--task``: the description itself, or ``@FILE``'s example prompts."""
    if task and task.startswith("@"):
        return task_examples(task[1:])
    return task


def task_examples(path) -> list[str]:
    """Example prompts of one task from a file: a ``.jsonl`` of ``{"prompt": ...}`` objects (or
    JSON strings), else one prompt per non-empty line."""
    import json
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"task examples file not found: {path}")
    try:
        lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None
    out = lines
    if path.suffix == ".jsonl":
        out = []
        for i, line in enumerate(lines, 1):
            try:
                item = json.loads(line)
            except json.JSONDecodeError as e:
                raise UsageError(f"{path}:{i}: not JSON ({e.msg})") from None
            text = item.get("prompt") if isinstance(item, dict) else item
            if not isinstance(text, str) or not text.strip():
                raise UsageError(f'{path}:{i}: expected {{"prompt": "..."}} or a JSON string')
            out.append(text)
    if not out:
        raise UsageError(f"{path} holds no example prompts")
    return out


def csv(value: str, allowed=None, what: str = "value") -> tuple:
    """A comma-separated list, each item checked against ``allowed`` (if given)."""
    items = tuple(v.strip() for v in value.split(",") if v.strip())
    bad = [v for v in items if allowed is not None and v not in allowed]
    if not items or bad:
        raise UsageError(
            f"unknown {what} {', '.join(map(repr, bad)) or repr(value)} "
            f"(choose from {', '.join(allowed or [])})"
        )
    return items


def named_paths(specs: list[str] | None, flag: str) -> dict:
    """``NAME=PATH`` options as a dict."""
    out = {}
    for spec in specs or []:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise UsageError(f"{flag} takes NAME=PATH, got {spec!r}")
        out[name] = path
    return out
