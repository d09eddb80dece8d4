"""Re-picking the mask while generating: every N reply tokens, from the prompt and the reply so far.

With the shipped predictor, a mask chosen from the prompt alone closes 6.9% of the static ->
dense gap; re-picked every 8 reply tokens 13.3%, every 16 (the default) 11.8%
(``docs/results/reroute/``). Only FFN channels change between slim models,
so the KV cache stays valid across a switch: attention, norms and embeddings are shared.

``Repicking`` stands in for the slim model inside mlx-lm's generation loop. It counts the
tokens it is fed; when the N-th reply token of a segment is fed, it runs the new tokens through
the source's dense ``Running`` pass (its own KV cache), scores the text so far, writes the
channels that came in into the slim model (``core.slicing.slim_update``) and runs the token
through it. This is causal: the mask that predicts reply token
i + 1 read the prompt and reply tokens 0..i, what ``mlx_ifp eval --repick N`` scores
teacher-forced (``forced``: the same dense pass and picks; ``tools/eval_task_masks.py
--reroute N`` too, its later masks reading the chat-formatted prompt).
"""

from __future__ import annotations

import time

import mlx.core as mx

from ..core import DEFAULT_REPICK, UsageError, d_ffn, slim_update


def every(pruner, repick: int | None, per_prompt: bool, given: list[str]) -> int:
    """A call's ``repick`` (checked): None is ``DEFAULT_REPICK`` for a source that re-picks
    by default, pruning a per-prompt mask without ``given`` options that need one model (a
    draft model, input embeddings), else 0; refused with a task, a given mask or those, and for
    a source that cannot re-pick (``runner``)."""
    pruned = pruner.k < d_ffn(pruner.model)
    if repick is None:
        by_default = per_prompt and pruned and pruner.source.repicks_by_default(pruner.model)
        by_default = by_default and not given  # they need one model: one mask, not re-picked
        repick = DEFAULT_REPICK if by_default else 0
    if repick and not per_prompt:
        raise UsageError("repick re-picks a per-prompt mask: not with a task or a given mask")
    if repick and given:
        raise UsageError(f"repick cannot be combined with {', '.join(given)}")
    if repick and runner(pruner) and not pruned:  # a source that cannot: refused here, before
        repick = 0  # any work; nothing pruned: no re-pick can change a channel
    return repick


def start(pruner, text: str | list[int], max_kv_size: int | None = None, step: int = 2048,
          progress=None):  # fmt: skip
    """(slim model, ``PruneInfo``, ``Running``) of the first segment: the mask of ``text`` (the
    first user turn) read off the source's dense pass that later segments continue, its KV
    cache bounded by ``max_kv_size`` and the text run ``step`` tokens at a time, as
    generation's are; ``progress(0, total)`` after each chunk (``text`` is read before any of
    the prompt it comes from runs; a callback that raises stops the pass there)."""
    running, tokens = reader(pruner, text)
    running.max_kv_size = max_kv_size
    t0 = time.perf_counter()
    running.feed(tokens, step, progress=progress and (lambda _, total: progress(0, total)))
    mask = pick(pruner, running)
    t1 = time.perf_counter()
    slim, info = pruner.own_slim(mask)  # its own: re-picks write into its FFN arrays
    info.select_s = t1 - t0
    return slim, info, running


def forced(pruner, text: str | list[int], reply: list[int], every: int) -> list:
    """Re-picking teacher-forced: the masks generation that re-picks every ``every`` reply
    tokens applies while it writes ``reply`` after ``text`` (the first user turn, as ``start``
    reads it). Mask j predicts reply tokens j * every .. (j + 1) * every - 1 and read ``text`` +
    ``reply[:j * every]``: one dense pass (``Running``) fed a segment at a time, as
    ``Repicking`` feeds it. ``every`` 0: the prompt's mask alone."""
    running, tokens = reader(pruner, text)
    running.feed(tokens)
    masks = [pick(pruner, running)]
    for at in range(every, len(reply), every) if every else ():
        running.feed(reply[at - every : at])
        masks.append(pick(pruner, running))
    return masks


def reader(pruner, text: str | list[int]) -> tuple:
    """(the source's ``Running`` scorer, ``text``'s tokens) for a first segment: a source that
    cannot re-pick, or an empty text, refused in one line."""
    running = runner(pruner)
    if not (tokens := pruner.encode(text)):
        raise UsageError("cannot select channels for an empty text")
    return running, tokens


def positions(n_masks: int, start: int, every: int, width: int) -> list[int]:
    """Which of ``forced``'s masks runs at each of ``width`` positions of a sequence whose reply
    starts at ``start``: position p predicts token p + 1, so reply token i (at ``start`` + i)
    is predicted at p = ``start`` + i - 1 by mask i // every; the prompt's positions by mask 0,
    those past the reply (padding) by the last."""
    if not every:
        return [0] * width
    return [min(max(0, p - start + 1) // every, n_masks - 1) for p in range(width)]


def runner(pruner):
    """The pruner's source's ``Running`` scorer; a source that has none cannot re-pick: refused
    in one line. It runs on the bare source model for a LoRA'd copy's slim models (the copy
    LoRA off, ~25% faster)."""
    if (running := pruner.source.running(pruner.model)) is None:
        raise UsageError(
            f"mask source {pruner.source.key()!r} cannot re-pick during generation "
            "(griffin and trained predictors that read GRIFFIN statistics can)"
        )
    if pruner.model is not pruner.source_model:
        running.model = pruner.source_model
    return running


def pick(pruner, running):
    """The top-k mask of the running scores, labelled with the source and the text so far."""
    mask = pruner.source.mask_from(
        pruner.model, mx.array(running.tokens), running.scores(), pruner.k
    )
    mx.eval(mask.indices)
    return mask


class Repicking:
    """The slim model mlx-lm generates with, re-picked every ``every`` reply tokens.

    ``prompt_left``: how many of the tokens it will be fed first are prompt (then each call
    feeds one reply token). ``last``: mlx-lm's ``max_tokens``; it feeds the last reply token only
    to compute a token it then drops, so no re-pick is made for it. ``info`` (the first
    segment's ``PruneInfo``) gains the re-picks' count and cost as they happen.
    """

    def __init__(self, pruner, running, slim, info, every: int, prompt_left: int, last: int):
        self.pruner, self.running, self.slim, self.info = pruner, running, slim, info
        self.every, self.prompt_left, self.last = every, prompt_left, last
        self.pending: list[mx.array] = []
        self.fed = 0  # reply tokens fed so far
        self.order = [i.tolist() for i in info.mask.indices]  # the slim model's channels

    @property
    def layers(self):
        return self.slim.layers

    def __call__(self, inputs: mx.array, cache=None, **kwargs):
        if self.prompt_left > 0:
            self.prompt_left -= inputs.shape[-1]
        else:
            self.pending.append(inputs)  # (reshaped where fed: the thread that runs it)
            self.fed += inputs.shape[-1]
            if self.fed % self.every == 0 and self.fed != self.last:
                self.repick()
        return self.slim(inputs, cache=cache, **kwargs)

    def repick(self) -> None:
        """The new tokens through the dense pass, a new mask, a new slim model."""
        t0 = time.perf_counter()
        self.running.feed(mx.concatenate([p.reshape(-1) for p in self.pending]))
        self.pending = []
        mask = pick(self.pruner, self.running)
        t1 = time.perf_counter()
        # only the channels that came in are sliced, into the slots of those that left
        base = self.pruner.slim_base
        self.slim, self.order = slim_update(
            base, self.slim, self.order, mask.indices, in_place=True
        )
        info = self.info
        info.repicks += 1
        info.repick_select_s += t1 - t0
        info.repick_slice_s += time.perf_counter() - t1
