"""The sparsity predictor: prompt tokens -> FFN channel scores (B, L, d_ffn).

A backbone turns the prompt into one vector (the last prompt token's hidden state, or the mean
over the prompt); a head maps it to one score row per layer. The backbone is either the first
``layers`` blocks of the source model itself, run dense (no second model in memory), or a
separate mlx-lm model given by path. Neither backbone's weights are the predictor's own
parameters: only the head is saved (``save_predictor``).
"""

from __future__ import annotations

import copy
from dataclasses import MISSING, dataclass, field, fields

import mlx.core as mx
import mlx.nn as nn

from ...core import (
    UsageError,
    backbone,
    layer_path,
    layers,
    lora_disabled,
    masked,
    observed,
    soft_topk,
    topk_indicator,
)
from ..base import READING, GriffinStats, GroupedGriffin, Observer, Running, standardise, unit_scale

HEADS = ("full", "factored", "static", "griffin")
ROUTES = ("learned", "griffin", "reweight")


#: how ``PredictorConfig.check`` names the type a setting must have
KINDS = {
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    dict: "a mapping",
    str: "text",
}


@dataclass
class PredictorConfig:
    """How the predictor reads a prompt and how its head is shaped."""

    backbone: str = "source"  # "source" (first `layers` blocks of the source) or a model path
    layers: int = 4  # blocks of the source model used as backbone
    pooling: str = "last"  # "last" prompt token or "mean" over the prompt
    # "full" d->r->L*d_ffn, "factored" per-layer low rank, "static" (one learned mask), or
    # "griffin": learned per-channel prior + gain on the prompt's GRIFFIN statistics, read
    # through the frozen source (plus a per-layer low-rank mix of rank factor_rank)
    head: str = "full"
    rank: int = 128  # r, the head's hidden width
    factor_rank: int = 16  # q, per-layer rank of the factored head's output
    n_layers: int = 0  # L of the source model (filled in from it)
    d_ffn: int = 0
    hidden: int = 0  # width of the backbone's hidden state
    model: dict = field(default_factory=dict)  # fingerprint of the source model
    init: str = "zeros"  # or a training-free mask source ("static-act") to start from
    # against mask collapse (griffin head): the prior and the prompt term each standardised
    # per layer, so neither can drown the other by scale ...
    balanced: bool = False
    # ... and/or a shared + routed split: this fraction of the k channels is the prior's top
    # (the same for every prompt), the rest is chosen per prompt
    shared: float = 0.0
    # who picks the routed (non-shared) channels: "learned" (the head's own scores) or
    # "griffin" (the prompt's GRIFFIN statistics alone, so the routed part cannot collapse;
    # the prior then only learns which `shared` channels every prompt keeps)
    # "reweight": the routed channels are the top of a learned, bounded per-channel re-weighting
    # of the prompt's GRIFFIN statistics, gain in [1/2, 2] and offset in [-route_bound,
    # route_bound] (z units): learned, yet no channel can be forced in or out for every prompt
    route: str = "learned"
    route_bound: float = 1.0
    k: int = 0  # the budget the predictor is trained for (filled in by the trainer)

    @classmethod
    def parse(cls, block) -> PredictorConfig:
        """A checked config from a ``predictor:`` block of settings (a YAML mapping)."""
        if not isinstance(block, dict):
            raise UsageError(f"predictor must be a mapping of settings, got {block!r}")
        bad = set(block) - {f.name for f in fields(cls)}
        if bad:
            raise UsageError(f"unknown predictor config key(s): {', '.join(sorted(bad))}")
        config = cls(**block)
        config.check()
        return config

    def check(self) -> None:
        """Refuse a setting of the wrong type (as its default's; any number for a float) or
        value, in one line."""
        for f in fields(self):
            value = getattr(self, f.name)
            want = type(f.default_factory() if f.default is MISSING else f.default)
            ok = isinstance(value, int | float) if want is float else isinstance(value, want)
            if not ok or (want is not bool and isinstance(value, bool)):
                raise UsageError(f"predictor {f.name} must be {KINDS[want]}, got {value!r}")
        if self.pooling not in ("last", "mean"):
            raise UsageError(f"pooling must be 'last' or 'mean', got {self.pooling!r}")
        if self.head not in HEADS:
            raise UsageError(f"predictor head must be one of {', '.join(HEADS)}, got {self.head!r}")
        if self.rank < 1 or self.factor_rank < 0 or self.layers < 1:
            raise UsageError("predictor rank and layers must be >= 1, factor_rank >= 0")
        if not 0 <= self.shared < 1:
            raise UsageError(f"predictor shared must be in [0, 1), got {self.shared}")
        if self.route not in ROUTES:
            raise UsageError(
                f"predictor route must be one of {', '.join(ROUTES)}, got {self.route!r}"
            )
        if self.route == "griffin" and (self.head != "griffin" or self.shared <= 0):
            raise UsageError("predictor route 'griffin' needs head 'griffin' and shared > 0")
        if self.route == "reweight" and self.head != "griffin":
            raise UsageError("predictor route 'reweight' needs head 'griffin'")
        if not 0 <= self.route_bound <= 100:
            raise UsageError(f"predictor route_bound must be in [0, 100], got {self.route_bound}")

    @property
    def reads_griffin(self) -> bool:
        """True when the head scores the prompt's GRIFFIN statistics (not hidden states)."""
        return self.head == "griffin"


def hidden_size(model: nn.Module) -> int:
    args = getattr(model, "args", None)
    h = getattr(args, "hidden_size", None)
    if h is None:
        raise UsageError(f"cannot tell the hidden size of {type(model).__name__}")
    return int(h)


def _inner(model: nn.Module) -> nn.Module:
    """The decoder stack that returns hidden states (mlx-lm keeps it at ``model.model``)."""
    inner = backbone(model)
    if inner is None:
        raise UsageError(f"{type(model).__name__} has no inner `model` returning hidden states")
    return inner


def stack(model: nn.Module, n_layers: int | None = None) -> nn.Module:
    """The decoder stack (tokens -> final-normed hidden states), or a view of it with its first
    ``n_layers`` blocks. Give it one cache slot per block of the model (``[None] * L``, or its
    prompt cache): models that index the cache by layer type (Gemma-3's ``cache[pattern - 1]``)
    see every layer's slot, each kept block at its own place in the pattern (the first ones)."""
    inner = _inner(model)
    blocks = layers(model)
    if n_layers is None or n_layers >= len(blocks):
        return inner
    # the containers down to the block list copied, the model untouched (it was cut and put
    # back: another thread running it meanwhile ran the cut model, and could put the cut list
    # back for good)
    view = node = copy.copy(inner)
    *path, key = layer_path(inner, blocks[0])
    for k in path:
        child = copy.copy(node[k])
        setattr(node, k, child)
        node = child
    setattr(node, key, blocks[:n_layers])
    return view


def hidden_states(model: nn.Module, tokens: mx.array, n_layers: int | None = None) -> mx.array:
    """Final-normed hidden states (B, T, d) after the first ``n_layers`` blocks, run dense.

    Runs outside any active FFN mask or observer, whatever the caller has set.
    """
    net = stack(model, n_layers)
    with masked(model, None), observed(model, None):
        return net(tokens, cache=[None] * len(layers(model)))


def source_pass(model: nn.Module, tokens: mx.array, groups=None, logits: bool = False):
    """The frozen source (dense, adapters off, no gradient) over ``tokens`` (B, T): its logits
    if ``logits``, and the standardised GRIFFIN log-statistics (B, G, L, d) of each group of
    positions ``groups`` (B, G, T) if given. The predictor's features and the trainer's
    teacher both come from here."""
    stats = GroupedGriffin(groups) if groups is not None else None
    with lora_disabled(model), masked(model, None), observed(model, stats):
        out = model(tokens) if logits else _inner(model)(tokens)
    feats = None if stats is None else mx.stop_gradient(standardise(stats.scores()))
    return (mx.stop_gradient(out) if logits else None), feats


def griffin_features(model: nn.Module, tokens: mx.array, lengths: mx.array | None = None):
    """Standardised GRIFFIN log-statistics (B, L, d) of each row's first ``lengths`` tokens."""
    B, T = tokens.shape
    if lengths is None:
        lengths = mx.full((B,), T, dtype=mx.int32)
    groups = (mx.arange(T)[None, :] < lengths[:, None])[:, None, :]  # (B, 1, T)
    return source_pass(model, tokens, groups)[1][:, 0]


SHARED_LIFT = 1e3


def pool(h: mx.array, lengths: mx.array | None, how: str) -> mx.array:
    """(B, T, d) -> (B, d): the last real token's state, or the mean over real tokens."""
    B, T, _ = h.shape
    if lengths is None:
        lengths = mx.full((B,), T, dtype=mx.int32)
    lengths = mx.clip(lengths.astype(mx.int32), 1, T)
    if how == "last":
        return mx.take_along_axis(h, (lengths - 1)[:, None, None], axis=1)[:, 0]
    valid = (mx.arange(T)[None, :] < lengths[:, None]).astype(h.dtype)
    return (h * valid[..., None]).sum(axis=1) / lengths[:, None].astype(h.dtype)


class Pooled(Observer):
    """``pool`` of the hidden states of a text read in chunks (``Observer.output``): the last
    token's state, or the sum over the text's tokens by their count (``how``: "last", "mean")."""

    def __init__(self, how: str):
        self.how, self.kept, self.n = how, None, 0

    def __call__(self, layer, h):  # (FFN activations: not read)
        pass

    def output(self, h):
        if h.shape[1]:  # (a chunk of tokens read before: none)
            now = mx.contiguous(h[:, -1]) if self.how == "last" else h.sum(axis=1)  # (no view)
            self.kept = now if self.kept is None or self.how == "last" else self.kept + now
            self.n += h.shape[1]

    def scores(self) -> mx.array:  # (the pooled state (B, hidden) of all read so far)
        if self.kept is None:
            raise UsageError("cannot select channels for an empty text")
        return self.kept if self.how == "last" else self.kept / self.n


class Predictor(nn.Module):
    """Prompt tokens (B, T) and their lengths -> channel scores (B, L, d_ffn)."""

    def __init__(self, config: PredictorConfig, backbone: nn.Module | None = None):
        super().__init__()
        config.check()
        self.config = config
        object.__setattr__(self, "_backbone", backbone)  # not a child: not our parameters
        L, d, h, r = config.n_layers, config.d_ffn, config.hidden, config.rank
        if config.head == "static":
            self.bias = mx.zeros((L, d))
            return
        if config.head == "griffin":
            q = config.factor_rank
            self.bias = mx.zeros((L, d))
            if config.route == "griffin":  # the prompt term is GRIFFIN itself: nothing to learn
                return
            if config.route == "reweight":  # bounded per-channel gain and offset on GRIFFIN
                self.log_gain = mx.zeros((L, d))
                self.offset = mx.zeros((L, d))
                return
            self.gain = mx.ones((L, d))
            if q:
                self.a = mx.random.normal((L, d, q)) * (d**-0.5)
                self.b = mx.zeros((L, q, d))  # starts as prior + gain * GRIFFIN
            return
        self.proj = nn.Linear(h, r)
        self.norm = nn.RMSNorm(h)
        if config.head == "full":
            self.out = nn.Linear(r, L * d)
            self.out.weight = mx.zeros_like(self.out.weight)  # starts as a static mask
            self.out.bias = mx.zeros((L * d,))
        else:
            q = config.factor_rank
            self.a = mx.random.normal((L, r, q)) * (r**-0.5)
            self.b = mx.random.normal((L, q, d)) * (0.1 * q**-0.5)
            self.bias = mx.zeros((L, d))

    @property
    def backbone(self) -> nn.Module | None:
        return self._backbone

    def attach(self, backbone: nn.Module) -> Predictor:
        """Use ``backbone`` (the source model, or the separate backbone model)."""
        object.__setattr__(self, "_backbone", backbone)
        return self

    def features(self, tokens: mx.array, lengths: mx.array | None = None) -> mx.array:
        """The pooled prompt representation (B, hidden)."""
        c = self.config
        if self._backbone is None:
            raise UsageError("the predictor has no backbone attached")
        return pool(
            hidden_states(self._backbone, tokens, self.backbone_layers()), lengths, c.pooling
        )

    def backbone_layers(self) -> int | None:
        """Blocks of the backbone read: the first ``layers`` of the source's, or all."""
        return self.config.layers if self.config.backbone == "source" else None

    def from_hidden(self, h: mx.array) -> mx.array:
        """Scores (B, L, d) from the pooled prompt representation ``h`` (B, hidden)."""
        c = self.config
        z = nn.gelu(self.proj(self.norm(h)))
        if c.head == "full":
            return self.out(z).reshape(-1, c.n_layers, c.d_ffn)
        u = mx.einsum("br,lrq->blq", z, self.a)
        return mx.einsum("blq,lqd->bld", u, self.b) + self.bias

    def n_shared(self) -> int:
        """Channels per layer that every prompt keeps (the prior's top)."""
        return round(self.config.shared * self.config.k)

    def from_griffin(self, z: mx.array) -> mx.array:
        """Scores (B, L, d) from standardised GRIFFIN log-statistics ``z`` (B, L, d)."""
        c = self.config
        if c.route == "griffin":  # shared = the prior's top, routed = the prompt's GRIFFIN top
            return self._lift_shared(z)
        if c.route == "reweight":  # starts equal to route "griffin"
            gain = mx.power(2.0, mx.tanh(self.log_gain))
            return self._lift_shared(gain * z + c.route_bound * mx.tanh(self.offset))
        prompt = self.gain * z
        if "a" in self:
            u = mx.einsum("bld,ldq->blq", z, self.a)
            prompt = prompt + mx.einsum("blq,lqd->bld", u, self.b)
        prior = self.bias
        if c.balanced:
            prior, prompt = unit_scale(prior), unit_scale(prompt)
        return self._lift_shared(prior + prompt)

    def _lift_shared(self, scores: mx.array) -> mx.array:
        """The prior's top ``n_shared`` channels lifted far above any routed score (kept)."""
        s = self.n_shared()
        if s <= 0:
            return scores
        return scores + SHARED_LIFT * mx.stop_gradient(topk_indicator(self.bias, s))

    def mask_gradient(self, eps: float | mx.array) -> mx.array | None:
        """Zero-valued (L, d) term the trainer adds to its masks so that gradient reaches
        parameters the scores carry no gradient for: with ``route: griffin`` the prior learns
        its shared channels as a static mask of that many channels would (SoftTopK, straight
        through); so does ``route: reweight``. None otherwise."""
        if self.config.route not in ("griffin", "reweight") or self.n_shared() <= 0:
            return None
        soft = soft_topk(self.bias, self.n_shared(), eps)
        return soft - mx.stop_gradient(soft)

    def __call__(self, tokens: mx.array, lengths: mx.array | None = None) -> mx.array:
        c = self.config
        if c.head == "griffin":
            if self._backbone is None:
                raise UsageError("the predictor has no backbone attached")
            return self.from_griffin(griffin_features(self._backbone, tokens, lengths))
        if c.head == "static":
            return mx.broadcast_to(self.bias[None], (tokens.shape[0], *self.bias.shape))
        return self.from_hidden(self.features(tokens, lengths))

    def num_params(self) -> int:
        return sum(v.size for _, v in nn.utils.tree_flatten(self.parameters()))


def head_params(
    n_layers: int, d_ffn: int, hidden: int, rank: int = 128, factor_rank: int = 16
) -> dict:
    """Parameter counts of the full and the per-layer factored heads (and the static scores)."""
    shared = hidden * rank + rank + hidden  # proj + its bias + input norm
    return {
        "full": shared + rank * n_layers * d_ffn + n_layers * d_ffn,
        "factored": shared + n_layers * (rank * factor_rank + factor_rank * d_ffn + d_ffn),
        "static": n_layers * d_ffn,
    }


def griffin_running(pred: Predictor, model: nn.Module) -> Running:
    """Scores of a growing text for a predictor that reads GRIFFIN statistics: the source
    model's statistics over the text so far (its LoRA off), through the trained map."""

    def to_scores(stats: GriffinStats) -> mx.array:
        return pred.from_griffin(standardise(stats.scores())[None])[0]

    return Running(model, GriffinStats(), to_scores, context=lora_disabled)


def hidden_running(pred: Predictor) -> Running:
    """Scores of a growing text for a predictor that reads hidden states: its backbone's (the
    source's first ``layers`` blocks, or a model of its own) over the text so far, pooled as
    ``pool`` pools them (``Pooled``), through the head."""
    if (net := pred.backbone) is None:
        raise UsageError("the predictor has no backbone attached")
    view = stack(net, pred.backbone_layers())
    return Running(net, Pooled(pred.config.pooling), lambda p: pred.from_hidden(p.scores())[0],
                   net=view)  # fmt: skip


def text_scores(pred: Predictor, model: nn.Module, tokens: mx.array) -> mx.array:
    """The scores (L, d_ffn) of one text (1, T). A predictor reads it as GRIFFIN's ``scores``
    does (a ``Running`` pass: a KV cache across chunks; ``griffin_running`` for one that reads
    GRIFFIN statistics, ``hidden_running`` for one that reads hidden states), so inside
    ``sources.selecting`` the pass takes its ``step`` tokens at a time and calls its
    ``progress`` after each chunk (raising stops it there); equal to ``pred(tokens)[0]``, its one
    pass, to float rounding. A static head reads no text."""
    if pred.config.head == "static":
        return pred(tokens)[0]
    running = griffin_running(pred, model) if pred.config.reads_griffin else hidden_running(pred)
    running.feed(tokens, **(READING.get() or {}))
    return running.scores()
