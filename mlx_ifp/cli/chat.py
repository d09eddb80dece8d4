"""``mlx_ifp chat``: a conversation in the terminal with the pruned model, as ``mlx_lm.chat``.

Every turn goes through ``stream_generate`` with the whole conversation. The mask is picked from
the first user message (the conversation's task, as the predictor was trained) and comes from
the slim-model cache on later turns; the shipped predictor re-picks it along each reply. ``r``
starts a new conversation, and so a new mask.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import Budget, UsageError
from .generate import (
    Adapter,
    Dequantize,
    Keep,
    MaskSource,
    MaxTokens,
    MinP,
    Model,
    Repick,
    Seed,
    SystemPrompt,
    Temp,
    TopK,
    TopP,
    check_sampling_flags,
    check_text,
    named_adapter,
    not_empty,
    open_model,
    stream_reply,
)

HELP = "q: quit   r: a new conversation (a new mask)   h: this help"


def pruned(opened: dict) -> str:
    """How the model is pruned, in words: the source (a predictor by its folder) and budget."""
    name, _, path = opened["mask_source"].key().partition("(")
    name += f" {Path(path.rstrip(')')).name}" if path else ""
    b = Budget.parse(opened["keep"])
    kept = f"{b.value:g} of the" if b.is_fraction else f"{int(b.value)}"
    return f"pruned by {name} to {kept} FFN channels per layer"


def summary(r) -> str:
    """One line after each reply: speed, the mask and the active parameters."""
    p = r.prune
    line = f"[{r.generation_tokens} tokens, {r.generation_tps:.1f} tok/s"
    if p is not None:
        how = "cached mask" if p.cache_hit else f"mask picked in {p.select_s * 1e3:.0f} ms"
        again = f", {p.repicks} re-pick{'s' * (p.repicks != 1)}" if p.repicks else ""
        line += f"; {how}{again}; {p.active_params / 1e6:.1f}M of {p.source_params / 1e6:.1f}M"
        line += " parameters active"
    return line + "]"


def chat_command(
    model: Model = "smollm2-135m-instruct",
    max_tokens: MaxTokens = 512,
    temp: Temp = 0.0,
    top_p: TopP = 1.0,
    min_p: MinP = 0.0,
    top_k: TopK = 0,
    seed: Seed = None,
    system_prompt: SystemPrompt = None,
    keep: Keep = None,
    mask_source: MaskSource = None,
    adapter: Adapter = None,
    repick: Repick = None,
    dequantize: Dequantize = None,
    verbose: Annotated[
        bool, typer.Option("--verbose/--quiet", help="A line on speed and mask after each reply.")
    ] = True,
):
    """Chat with the pruned model in the terminal (q quits, r starts over with a new mask)."""
    budget = Budget.parse(keep) if keep is not None else None
    not_empty(mask_source=mask_source, adapter=adapter)
    check_text(system_prompt, "--system-prompt")
    sampling = dict(temp=temp, top_p=top_p, min_p=min_p, top_k=top_k)
    check_sampling_flags(max_tokens, sampling.values(), repick, seed)
    adapter = named_adapter(adapter, model, budget)
    opened = open_model(model, adapter, mask_source, None, keep, 1, budget, dequantize)
    start = [{"role": "system", "content": system_prompt}] if system_prompt else []
    typer.echo(f"Chatting with {model}, {pruned(opened)}: the mask comes from your first "
               f"message.\n{HELP}", err=True)  # fmt: skip
    messages = list(start)
    while True:
        try:
            line = input(">> ")
        except EOFError:  # Ctrl-D, or the end of piped input
            break
        except KeyboardInterrupt:
            print()
            break
        word = line.strip().lower()
        if not word:
            continue
        if word in ("q", "/quit", "/exit", "/bye"):
            break
        if word in ("r", "/reset", "/clear"):
            messages = list(start)
            typer.echo("(a new conversation)", err=True)
            continue
        if word in ("h", "/help", "?"):
            typer.echo(HELP, err=True)
            continue
        try:
            check_text(line, "the message")
            messages.append({"role": "user", "content": line})
            last, text = stream_reply(messages, max_tokens, opened, repick=repick, **sampling)
        except (UsageError, KeyboardInterrupt) as e:  # the turn is dropped; the chat goes on
            if messages and messages[-1]["role"] == "user":
                messages.pop()
            why = f"Error: {e}" if isinstance(e, UsageError) else "(stopped)"
            typer.echo(f"{why}; the message is dropped" + ("; r starts over" * ("context" in why)),
                       err=True)  # fmt: skip
            continue
        messages.append({"role": "assistant", "content": text})
        if verbose and last is not None:
            typer.echo(summary(last), err=True)
