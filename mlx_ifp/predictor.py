"""The sparsity predictor: prompt tokens -> FFN channel scores (B, L, d_ffn).

A backbone turns the prompt into one vector (the last prompt token's hidden state, or the mean
over the prompt); a head maps it to one score row per layer. The backbone is either the first
``layers`` blocks of the source model itself, run dense (no second model in memory), or a
separate mlx-lm model given by path. Neither backbone's weights are the predictor's own
parameters: only the head is saved. On disk: ``predictor.safetensors`` + ``ifp_config.json``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn

from . import ffn
from .errors import UsageError
from .mask import check_fingerprint, fingerprint
from .paths import atomic_file
from .sources import MaskSource, register_source

CONFIG_FILE = "ifp_config.json"
WEIGHTS_FILE = "predictor.safetensors"
HEADS = ("full", "factored", "static")


@dataclass
class PredictorConfig:
    """How the predictor reads a prompt and how its head is shaped."""

    backbone: str = "source"  # "source" (first `layers` blocks of the source) or a model path
    layers: int = 4  # blocks of the source model used as backbone
    pooling: str = "last"  # "last" prompt token or "mean" over the prompt
    head: str = "full"  # "full" d->r->L*d_ffn, "factored" per-layer low rank, "static"
    rank: int = 128  # r, the head's hidden width
    factor_rank: int = 16  # q, per-layer rank of the factored head's output
    n_layers: int = 0  # L of the source model (filled in from it)
    d_ffn: int = 0
    hidden: int = 0  # width of the backbone's hidden state
    model: dict = field(default_factory=dict)  # fingerprint of the source model
    init: str = "zeros"  # or a training-free mask source ("static-act") to start from

    def check(self) -> None:
        if self.pooling not in ("last", "mean"):
            raise UsageError(f"pooling must be 'last' or 'mean', got {self.pooling!r}")
        if self.head not in HEADS:
            raise UsageError(f"predictor head must be one of {', '.join(HEADS)}, got {self.head!r}")
        if self.rank < 1 or self.factor_rank < 1 or self.layers < 1:
            raise UsageError("predictor rank, factor_rank and layers must be >= 1")


def _hidden_size(model: nn.Module) -> int:
    args = getattr(model, "args", None)
    h = getattr(args, "hidden_size", None)
    if h is None:
        raise UsageError(f"cannot tell the hidden size of {type(model).__name__}")
    return int(h)


def _inner(model: nn.Module) -> nn.Module:
    """The decoder stack that returns hidden states (mlx-lm keeps it at ``model.model``)."""
    inner = ffn.backbone(model)
    if inner is None:
        raise UsageError(f"{type(model).__name__} has no inner `model` returning hidden states")
    return inner


def hidden_states(model: nn.Module, tokens: mx.array, n_layers: int | None = None) -> mx.array:
    """Final-normed hidden states (B, T, d) after the first ``n_layers`` blocks, run dense.

    Runs outside any active FFN mask or observer, whatever the caller has set.
    """
    inner = _inner(model)
    blocks = ffn.layers(model)
    holder, key = inner, None
    if n_layers is not None and n_layers < len(blocks):
        path = ffn._path_to(inner, blocks[0])
        for k in path[:-1]:
            holder = holder[k]
        key = path[-1]
    with ffn.masked(model, None), ffn.observed(model, None):
        if key is None:
            return inner(tokens)
        setattr(holder, key, blocks[:n_layers])
        try:
            return inner(tokens)
        finally:
            setattr(holder, key, blocks)


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
        n = c.layers if c.backbone == "source" else None
        return pool(hidden_states(self._backbone, tokens, n), lengths, c.pooling)

    def __call__(self, tokens: mx.array, lengths: mx.array | None = None) -> mx.array:
        c = self.config
        if c.head == "static":
            return mx.broadcast_to(self.bias[None], (tokens.shape[0], *self.bias.shape))
        z = nn.gelu(self.proj(self.norm(self.features(tokens, lengths))))
        if c.head == "full":
            return self.out(z).reshape(-1, c.n_layers, c.d_ffn)
        u = mx.einsum("br,lrq->blq", z, self.a)
        return mx.einsum("blq,lqd->bld", u, self.b) + self.bias

    def num_params(self) -> int:
        return sum(v.size for _, v in nn.utils.tree_flatten(self.parameters()))

    # ------------------------------------------------------------ files

    def save(self, folder: str | Path) -> Path:
        """Write ``predictor.safetensors`` and ``ifp_config.json`` into ``folder``, atomically."""
        folder = Path(folder)
        weights = dict(nn.utils.tree_flatten(self.parameters()))
        with atomic_file(folder / WEIGHTS_FILE) as tmp:
            mx.save_safetensors(str(tmp), weights, metadata={"mlx_ifp": "predictor"})
        update_config(folder, predictor=asdict(self.config))
        return folder


def read_config(folder: str | Path) -> dict:
    """The ``ifp_config.json`` of an adapter folder ({} if there is none)."""
    path = Path(folder) / CONFIG_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise UsageError(f"unreadable {path}: {e}") from None


def update_config(folder: str | Path, **entries) -> None:
    """Merge ``entries`` into the folder's ``ifp_config.json`` (written atomically)."""
    cfg = read_config(folder)
    cfg.update(entries)
    with atomic_file(Path(folder) / CONFIG_FILE) as tmp:
        tmp.write_text(json.dumps(cfg, indent=2, default=str))


def new_predictor(
    model: nn.Module, config: PredictorConfig | None = None, tokenizer=None, **overrides
) -> Predictor:
    """A fresh predictor for source ``model``; a separate backbone is loaded from its path.

    With ``init`` naming a mask source (e.g. ``static-act``), the head's bias starts at that
    source's per-layer standardised scores, so training starts from a sensible static mask.
    """
    config = config or PredictorConfig()
    known = {f.name for f in fields(PredictorConfig)}
    bad = set(overrides) - known
    if bad:
        raise UsageError(f"unknown predictor setting(s): {', '.join(sorted(bad))}")
    for k, v in overrides.items():
        setattr(config, k, v)
    config.check()
    backbone = model if config.backbone == "source" else _load_backbone(config.backbone)
    config.n_layers = len(ffn.layers(model))
    config.d_ffn = ffn.d_ffn(model)
    config.hidden = _hidden_size(backbone)
    config.model = fingerprint(model)
    if config.backbone == "source":
        config.layers = min(config.layers, config.n_layers)
    predictor = Predictor(config, backbone)
    if config.init != "zeros":
        warm_start(predictor, model, tokenizer)
    return predictor


def warm_start(predictor: Predictor, model: nn.Module, tokenizer=None) -> None:
    """Set the head's bias to a training-free source's scores, standardised per layer."""
    from .sources import make_source

    source = make_source(predictor.config.init, tokenizer=tokenizer)
    if source.uses_text:
        raise UsageError(f"predictor init must be a text-independent source, not {source.name}")
    s = source.scores(model, mx.array([0], dtype=mx.int32)).astype(mx.float32)
    z = (s - s.mean(-1, keepdims=True)) / mx.maximum(s.std(-1, keepdims=True), 1e-6)
    if predictor.config.head == "full":
        predictor.out.bias = z.reshape(-1)
    else:
        predictor.bias = z
    mx.eval(predictor.parameters())


def _load_backbone(path: str) -> nn.Module:
    from .load import load

    net, _ = load(path)
    net.freeze()
    return net


def load_predictor(folder: str | Path, model: nn.Module) -> Predictor:
    """Read a saved predictor; refuse it if it was trained for another source model."""
    folder = Path(folder)
    cfg = read_config(folder).get("predictor")
    if not cfg or not (folder / WEIGHTS_FILE).is_file():
        raise UsageError(f"no predictor in {folder} (needs {WEIGHTS_FILE} and {CONFIG_FILE})")
    known = {f.name for f in fields(PredictorConfig)}
    config = PredictorConfig(**{k: v for k, v in cfg.items() if k in known})
    check_fingerprint(config.model, model, f"the predictor in {folder} was trained for")
    backbone = model if config.backbone == "source" else _load_backbone(config.backbone)
    pred = Predictor(config, backbone)
    try:
        pred.load_weights(str(folder / WEIGHTS_FILE), strict=True)
    except ValueError as e:
        raise UsageError(f"predictor weights in {folder} do not fit its config: {e}") from None
    mx.eval(pred.parameters())
    return pred


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


class PredictorSource(MaskSource):
    """Mask source ``predictor``: the trained predictor scores the prompt (or task) tokens."""

    name = "predictor"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._pred: Predictor | None = None
        self._for: int | None = None

    def key(self) -> str:
        return f"predictor({self.path})"

    def predictor(self, model: nn.Module) -> Predictor:
        if self._pred is None or self._for != id(model):
            self._pred = load_predictor(self.path, model)
            self._for = id(model)
        return self._pred

    def scores(self, model, tokens):
        tokens = mx.array(tokens, dtype=mx.int32).reshape(1, -1)
        if tokens.size == 0:
            raise UsageError("cannot select channels for an empty text")
        return self.predictor(model)(tokens)[0]


def _factory(path=None, adapter=None, adapter_path=None, **_):
    where = path or adapter or adapter_path
    if not where:
        raise UsageError("the predictor mask source needs the adapter folder (--adapter DIR)")
    return PredictorSource(where)


register_source("predictor", _factory)
