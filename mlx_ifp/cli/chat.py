"""``mlx_ifp chat``: a conversation in the terminal with the pruned model, as ``mlx_lm.chat``.

The mask is picked from the first user message (the conversation's task, as the predictor was
trained): re-picked from it at each turn and along each reply by the shipped predictor, from the
slim-model cache with ``--repick 0``. As ``mlx_lm.chat``'s ``prompt_cache``, a KV cache is kept
across turns (``Carried``): each turn prefills only the tokens of the conversation it lacks (the
new message, and whatever of the last reply the chat template writes otherwise), so a turn's
wait does not grow with the conversation. Earlier turns keep the K/V their masks computed, as
earlier positions of a re-picked reply do; with one slim model and no re-pick the replies are
those of running the whole conversation again, token for token. GRIFFIN (``--mask-source
griffin``) prefills through the unpruned model (its recipe) and without ``--repick`` reads its
mask off that pass over the whole conversation, a sum over its tokens: it carries that dense
pass instead (``Dense``: its KV cache and the sum), so a turn prefills densely only the last
reply, as the template writes it, and the new message; after the reply the cache is cut back
to the prompt. Its greedy replies are the re-run's, token for token (a prompt past a window
``--max-kv-size`` or the model's own: the whole conversation, as before). ``r`` starts a new
conversation (a new mask, an empty cache).
"""

from __future__ import annotations

import contextlib
import copy
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from ..core import (
    DEFAULT_REPICK,
    Budget,
    UsageError,
    chat_tokens,
    context_length,
    d_ffn,
    encode,
    exported_width,
    format_chat,
)
from .generate import (
    check_sampling_flags,
    check_template,
    check_text,
    lm_flags,
    named_adapter,
    not_empty,
    open_model,
    options,
    stream_reply,
)

HELP = (
    "q: quit   r: a new conversation (a new mask)   h: this help\n"
    'a line ending in \\ goes on to the next; a line of """ starts a block, another sends it'
)
BLOCK = '"""'  # a line of it alone opens or closes a message of several lines (a paste)


def read_message() -> tuple[str, bool] | None:
    """The next message typed or piped in, and whether it spans lines: a line ending in a
    backslash goes on to the next (the backslash dropped, the line break kept), as llama-cli's;
    a line of three double quotes opens a block sent whole at the next one that starts with
    them, as written (backslashes, indented quotes too). None at the end of the input (Ctrl-D,
    or a pipe's end: a message left unfinished is not sent) or at Ctrl-C."""
    lines, block, prompt = [], False, ">> "
    while True:
        try:  # (a file a Windows editor saved, piped in: its BOM and CRLF are not the text)
            line = input(prompt).removeprefix("\ufeff").removesuffix("\r")
        except (EOFError, KeyboardInterrupt):  # Ctrl-D or the end of piped input; Ctrl-C
            print()  # (the shell's prompt starts its own line)
            if lines or block:
                typer.echo("(the unfinished message is not sent)", err=True)
            return None
        if not sys.stdin.isatty():  # piped: no Enter echoed ends the prompt's line (a notice,
            print(flush=True)  # a reply, the next prompt start their own, as in mlx_lm.chat)
        prompt = "... "
        if (line.rstrip() if block else line.strip()) == BLOCK and (block or not lines):
            if block:  # (closed at a line's start: a pasted docstring's indented one is text)
                return "\n".join(lines), True
            block = True
        elif block or line.endswith("\\"):
            lines.append(line if block else line[:-1])
        else:
            return "\n".join([*lines, line]), bool(lines)


def line_editing() -> None:
    """At a terminal, readline under ``input``, as Python's own prompt and llama-cli's edit the
    line: the arrow keys move in it and recall earlier messages (one Ctrl-C dropped too), where
    they went into the message as escape codes ("q\\x1b[D"). A paste still comes line by line
    (CPython turns readline's bracketed paste off): a pasted block stays a block."""
    if sys.stdin.isatty() and sys.stdout.isatty():  # (the only place input reads through it)
        with contextlib.suppress(ImportError):  # (Windows: its console edits the line itself)
            import readline  # noqa: F401  (imported, it serves input)


def pruned(opened: dict, repick: int | None) -> str:
    """How the model is pruned, in words: the source (a predictor by its folder), the budget and
    the text the mask is read from."""
    source = opened["mask_source"]
    name, _, path = source.key().partition("(")
    name += f" {Path(path.rstrip(')')).name}" if path else ""
    b, d = Budget.parse(opened["keep"]), d_ffn(opened["net"])
    if name == "full" or b.channels(d) >= d:  # keep 1.0, a count of every channel, 0.9999
        if width := exported_width(opened["net"]):  # an export of a pruned model, run whole
            k, was = width
            return f"exported pruned to {k} of {was} FFN channels per layer, run as written"
        return "unpruned (all FFN channels)"
    kept = f"{b.value:g} of the" if b.is_fraction else f"{int(b.value)}"
    if repick is None:  # the source's default, as ``stream_generate`` decides it
        repick = DEFAULT_REPICK if source.repicks_by_default(opened["net"]) else 0
    if not source.uses_text:
        read = "one mask for every message"
    elif source.prefers_dense_prefill() and not repick:  # read off the dense prefill
        read = "the mask is read off the whole conversation at each message"
    else:
        read = "the mask comes from your first message"
        read += f", re-picked every {repick} reply tokens" if repick else ""
    return f"pruned by {name} to {kept} FFN channels per layer: {read}"


def too_long_hint(opened: dict, start: list, line: str) -> str:
    """After a context error: whether ``r`` (a new conversation) would make the message fit."""
    tok, limit = opened["tokenizer"], context_length(opened["net"])
    alone = encode(tok, format_chat(tok, [*start, {"role": "user", "content": line}]))
    return "; it is too long by itself" if limit and len(alone) >= limit else "; r starts over"


def summary(r) -> str:
    """One line after each reply: the prompt (the tokens this turn prefilled: those the carried
    KV cache lacked; with GRIFFIN's dense one, the last reply too) and the reply, their speeds,
    peak memory, the mask and the active parameters."""
    p = r.prune
    line = f"[prompt {r.prompt_tokens} tokens, {r.prompt_tps:.1f} tok/s; reply "
    line += f"{r.generation_tokens} tokens, {r.generation_tps:.1f} tok/s; "
    line += f"peak {r.peak_memory:.2f} GB"
    if p is not None:
        how = "cached mask" if p.cache_hit else f"mask picked in {p.select_s * 1e3:.0f} ms"
        how = "no mask" if p.mask.k >= p.mask.d_ffn else how  # nothing pruned: nothing picked
        again = f", {p.repicks} re-pick{'s' * (p.repicks != 1)}" if p.repicks else ""
        line += f"; {how}{again}; {p.active_params / 1e6:.1f}M of {p.source_params / 1e6:.1f}M"
        line += " parameters active"
    return line + "]"


class Carried:
    """The KV cache a conversation keeps across turns and the token ids it holds."""

    def __init__(self, net, max_kv_size: int | None):
        self.net, self.size = net, max_kv_size
        self.reset()

    def reset(self) -> None:  # (a new conversation; a cache that cannot be cut back)
        from mlx_lm.models.cache import make_prompt_cache

        self.cache, self.ids = make_prompt_cache(self.net, self.size), []

    def lacks(self, tokens: list[int]) -> list[int]:
        """The cache cut back to the longest start of ``tokens`` it holds (the chat template may
        write the last reply otherwise than it was generated), one token at least left to feed;
        returns the tokens it lacks."""
        n = 0
        while n < min(len(self.ids), len(tokens) - 1) and self.ids[n] == tokens[n]:
            n += 1
        self.hold(tokens[:n])
        return tokens[len(self.ids) :]

    def hold(self, ids: list[int]) -> None:
        """The cache holds ``ids`` (or the start of them its layers hold): each layer cut back to
        them; where one cannot be cut (a window that rotated), a new, empty cache."""
        n = min([len(ids), *(c.offset for c in self.cache)])
        if all(c.offset == n or c.is_trimmable() for c in self.cache):
            for c in self.cache:
                c.trim(c.offset - n)
            self.ids = list(ids[:n])
        else:
            self.reset()


class Dense:
    """GRIFFIN's dense pass over the conversation, carried across turns: the source's
    ``Running`` (the unpruned model's KV cache and the statistic, a sum over the tokens it
    observed) and ``seen``, the tokens observed: those the cache holds and the prompt's last."""

    def __init__(self, net, source, max_kv_size: int | None):
        self.net, self.source, self.size = net, source, max_kv_size
        self.reset()

    def reset(self) -> None:  # (a new conversation; a pass that cannot be cut back)
        self.running, self.seen = self.source.running(self.net), []
        self.running.max_kv_size = self.size

    def fits(self, tokens: list[int]) -> bool:
        """Whether the prompt fits every layer's window (none rotates, each can be cut back)."""
        from mlx_lm.models.cache import make_prompt_cache

        n = len(tokens)
        made = self.running.cache or make_prompt_cache(self.net, self.size)
        return all(c.is_trimmable() and n < (getattr(c, "max_size", None) or n + 1) for c in made)

    def feed(self, tokens: list[int], step: int) -> int:
        """Prefill densely what the cache lacks of ``tokens`` (a start it holds otherwise: all
        of it), the statistic skipping what it saw, then cut the last token off the cache
        (observed, as the re-run's prefill does; the slim model feeds it). Returns the count."""
        r = self.running
        if len(tokens) <= len(self.seen) or tokens[: len(self.seen)] != self.seen:
            self.reset()
            r = self.running
        new = tokens[len(r.tokens) :]  # (its first: the last prompt token before, observed then)
        r.feed(new, step, seen=len(self.seen) - len(r.tokens))
        self.seen = list(tokens)
        self.cut(len(tokens) - 1)
        return len(new)

    def cut(self, n: int) -> None:
        """The cache cut back to its first ``n`` tokens (one that rotated: a new pass)."""
        if not all(c.is_trimmable() for c in self.running.cache or []):
            return self.reset()
        for c in self.running.cache or []:
            c.trim(c.offset - n)
        self.running.tokens = self.running.tokens[:n]

    def saved(self) -> tuple:
        """What ``restore`` puts back after a turn that failed: the pass (a new one may have
        started), the tokens seen, how many the cache held, a copy of the statistic."""
        r = self.running
        return r, list(self.seen), len(r.tokens), copy.deepcopy(r.observer)

    def restore(self, saved: tuple) -> None:
        self.running, self.seen, n, self.running.observer = saved
        self.cut(n)  # (the tokens of a chunk stopped midway too)


def turn(messages, max_tokens, opened, carried, config: dict, **options):
    """One reply: to the tokens the carried cache lacks (``Carried``: slim; ``Dense``: GRIFFIN's
    dense pass, its mask read off all of it unless re-picked), the mask reading the first message
    as ``stream_generate`` would; to the whole conversation where none is carried. Returns the
    last ``Response`` and the reply's text."""
    if carried is None:
        whole = stream_reply(messages, max_tokens, opened, chat_template_config=config, **options)
        return whole[:2]
    first, tokens = chat_tokens(opened["tokenizer"], messages, None, config=config)  # as its own
    if isinstance(carried, Dense):
        return dense_turn(first, tokens, messages, max_tokens, opened, carried, config, **options)
    new = carried.lacks(tokens)  # (a turn that failed fed the cache more: cut off here)
    last, text, ids = stream_reply(new, max_tokens, opened, prompt_cache=carried.cache,
                                   mask_prompt=first, **options)  # fmt: skip
    carried.hold(tokens + ids)  # the reply, as it was generated
    return last, text


def dense_turn(first, tokens, messages, max_tokens, opened, dense: Dense, config, **options):
    """GRIFFIN's turn: what the dense pass lacks prefilled through the unpruned model, the mask
    picked from the statistic of the whole conversation (re-picked, by ``--repick`` or the
    source's default: from the first message, by ``stream_generate``), the reply decoded slim
    from that cache, which is then cut back to the prompt. A prompt past a window: the whole
    conversation, as before."""
    import mlx.core as mx

    if (limit := context_length(opened["net"])) and len(tokens) >= limit:  # refused there,
        return turn(messages, max_tokens, opened, None, config, **options)  # as before: no work
    if not dense.fits(tokens):
        dense.reset()
        return turn(messages, max_tokens, opened, None, config, **options)
    saved = dense.saved()
    try:
        t0 = time.perf_counter()
        fed = dense.feed(tokens, options.get("prefill_step_size") or 2048)
        t1 = time.perf_counter()
        mask, net, repick = None, opened["net"], options.get("repick")
        if repick is None:  # the source's default, as ``stream_generate`` decides it
            repick = dense.source.repicks_by_default(net)
        if not repick:  # (re-picked: the first message's mask, as the re-run's)
            d = d_ffn(net)
            k = Budget.parse(opened["keep"], opened["align"]).channels(d)
            scores = None if k >= d else dense.running.scores()
            mask = dense.source.mask_from(net, mx.array(tokens), scores, k)
            mx.eval(mask.indices)
            opened = {**opened, "mask": mask, "keep": None}  # (picked here: slim cut from it)
        t2 = time.perf_counter()
        cache = dense.running.cache
        reads = first if mask is None else None  # (a mask picked here: it reads nothing more)
        last, text, _ = stream_reply(tokens[-1:], max_tokens, opened, prompt_cache=cache,
                                     mask_prompt=reads, **options)  # fmt: skip
    except BaseException:
        dense.restore(saved)
        raise
    dense.cut(len(tokens) - 1)  # the reply: prefilled densely next turn, as the re-run does
    if last is not None:  # the line after the reply: the tokens this turn prefilled, their time
        p = last.prune
        p.prefill_s, p.select_s = t1 - t0, (t2 - t1 if mask is not None else p.select_s)
        first_s = 1.0 / last.prompt_tps if last.prompt_tps else 0.0
        last.prompt_tokens, last.prompt_tps = fed, fed / max(t1 - t0 + first_s, 1e-9)
    return last, text


def chat_command(
    model: options.Model = "smollm2-135m-instruct",
    max_tokens: options.MaxTokens = 512,
    temp: options.Temp = 0.0,
    top_p: options.TopP = 1.0,
    min_p: options.MinP = 0.0,
    top_k: options.TopK = 0,
    seed: options.Seed = None,
    system_prompt: options.SystemPrompt = None,
    chat_template_config: options.ChatTemplateConfig = None,
    extra_eos_token: options.ExtraEosToken = None,
    keep: options.Keep = None,
    mask_source: options.MaskSource = None,
    adapter: options.Adapter = None,
    repick: options.Repick = None,
    max_kv_size: options.MaxKvSize = None,
    prefill_step_size: options.PrefillStepSize = None,
    xtc_probability: options.XtcProbability = None,
    xtc_threshold: options.XtcThreshold = None,
    dequantize: options.Dequantize = None,
    dtype: options.Dtype = None,
    trust_remote_code: options.TrustRemoteCode = False,
    verbose: Annotated[
        bool, typer.Option("--verbose/--quiet", help="A line on speed and mask after each reply.")
    ] = True,
):
    """Chat with the pruned model in the terminal (q quits, r starts over with a new mask).

    A line ending in \\ goes on to the next; lines between two lines of \"\"\" are one message."""
    budget = Budget.parse(keep) if keep is not None else None
    not_empty(mask_source=mask_source, adapter=adapter)
    check_text(system_prompt, "--system-prompt")
    sampling = dict(temp=temp, top_p=top_p, min_p=min_p, top_k=top_k)
    chat = (chat_template_config, True)  # (the chat template is always applied)
    config = check_sampling_flags(max_tokens, sampling.values(), repick, chat=chat)
    sampling |= lm_flags(max_kv_size=max_kv_size, prefill_step_size=prefill_step_size,
                         xtc_probability=xtc_probability, xtc_threshold=xtc_threshold)  # fmt: skip
    options.seed_flag(seed)
    adapter = named_adapter(adapter, model, budget)
    opened = open_model(model, adapter, mask_source, None, keep, 1, budget, dequantize, None,
                        repick, extra_eos_token, trust_remote_code=trust_remote_code,
                        dtype=dtype)  # fmt: skip
    net, source = opened["net"], opened["mask_source"]  # refused here, not at every message:
    if not getattr(opened["tokenizer"], "chat_template", None):  # turns would run together
        raise UsageError(f"{model} has no chat template: chat needs one (use mlx_ifp generate)")
    check_template(opened["tokenizer"], system_prompt, config)
    options.kv_size_note(net, max_kv_size)
    sampling |= dict(extra_eos_tokens=extra_eos_token, repick=repick)
    if repick and source.running(net) is None:
        raise UsageError(f"--repick: mask source {source.key()!r} cannot re-pick while generating")
    with contextlib.suppress(AttributeError, ValueError):  # a strict UTF-8 locale: not a crash
        sys.stdin.reconfigure(errors="surrogateescape")  # check_text refuses the line
    start = [{"role": "system", "content": system_prompt}] if system_prompt is not None else []
    carried = Carried(net, max_kv_size)  # GRIFFIN: its dense pass (a plug-in's without one: none)
    if source.prefers_dense_prefill():
        carried = Dense(net, source, max_kv_size) if source.running(net) is not None else None
    typer.echo(f"Chatting with {model}, {pruned(opened, repick)}.\n{HELP}", err=True)
    messages = list(start)
    line_editing()
    while (read := read_message()) is not None:
        line, lines = read  # (a message of several lines is never a command: q in a paste)
        word = "" if lines else line.strip().lower()
        if not line.strip():
            continue
        if word in ("q", "/quit", "/exit", "/bye"):
            break
        if word in ("r", "/reset", "/clear"):
            messages = list(start)
            if carried is not None:
                carried.reset()
            typer.echo("(a new conversation)", err=True)
            continue
        if word in ("h", "/help", "?"):
            typer.echo(HELP, err=True)
            continue
        earlier = len(messages) > len(start)  # r helps only if earlier turns fill the context
        messages.append({"role": "user", "content": line})
        try:
            check_text(line, "the message")
            last, text = turn(messages, max_tokens, opened, carried, config, **sampling)
        except (UsageError, KeyboardInterrupt) as e:  # the turn is dropped; the chat goes on
            messages.pop()
            why = f"Error: {e}" if isinstance(e, UsageError) else "(stopped)"
            hint = too_long_hint(opened, start, line) if earlier and "context" in why else ""
            typer.echo(f"{why}; the message is dropped{hint}", err=True)
            continue
        except Exception as e:  # jinja2's TemplateError, from the template's raise_exception
            if "TemplateError" not in {c.__name__ for c in type(e).__mro__}:  # subclasses too
                raise
            messages.pop()  # (refused before the cache was touched)
            why = f"the chat template refuses this message ({e})"
            typer.echo(f"Error: {why}; the message is dropped", err=True)
            continue
        messages.append({"role": "assistant", "content": text})
        if verbose and last is not None:
            typer.echo(summary(last), err=True)
