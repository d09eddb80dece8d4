"""From channel scores to kept channels: the keep budget (``Budget``, FFN channels kept per
layer, checked once at the edge), SoftTopK and top-k, and the mask. SoftTopK is
`l_i = min(1, exp((s_i + a) / eps))`, one scalar `a` per row so that `sum(l) = k` (METHOD.md,
"From scores to a mask"), plus hard top-k helpers; the solver is exact and sort-based, its
gradient the implicit one (nothing is back-propagated through the solver).

The mask: an (L, k) int32 array of distinct, sorted channel indices (the same k in every layer)
and the fingerprint of the model it belongs to. On disk: ``NAME.safetensors`` + ``NAME.json``."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import numbers
import os
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn

from ..common import UsageError, atomic_file, check_writable, read_json, read_safetensors
from . import ffn
from .ffn import origin

FORMAT_VERSION = 1  # of mask files


@dataclass(frozen=True)
class Budget:
    """A fraction in (0, 1] of each layer's FFN channels, or a whole channel count (> 1).
    ``align`` rounds the resolved count up to a multiple of it (capped at the FFN width).
    ``Budget.parse`` reads a user value (text too); a Budget made directly is checked alike."""

    value: float
    align: int = 1

    def __post_init__(self):
        v, a = self.value, self.align
        if isinstance(a, bool) or not isinstance(a, numbers.Integral) or a < 1:  # NumPy's too
            raise UsageError(f"align must be a whole number >= 1, got {a!r}")
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise UsageError(f"keep must be a fraction in (0, 1] or a channel count, got {v!r}")
        if not v > 0:
            raise UsageError(f"keep must be > 0, got {v!r}")
        if v > 1 and not (v <= 2**53 and v == int(v)):
            raise UsageError(f"keep {v!r} is neither a fraction <= 1 nor a whole channel count")
        vars(self).update(value=float(v), align=int(a))  # (frozen: set past its __setattr__)

    @classmethod
    def parse(cls, keep: Budget | float | int | str, align: int = 1) -> Budget:
        """A Budget from a user value (``0.5``, ``"768"``, ...) or an existing Budget."""
        if isinstance(keep, Budget):
            return keep if align == 1 else cls(keep.value, align)
        with contextlib.suppress(ValueError):
            keep = float(keep.strip()) if isinstance(keep, str) else keep
        return cls(keep, align)

    @property
    def is_fraction(self) -> bool:
        """Whether ``value`` is a fraction of each layer's channels (<= 1), not a count."""
        return self.value <= 1

    def channels(self, d_ffn: int) -> int:
        """Channels to keep in a layer of width ``d_ffn``."""
        if not self.is_fraction and self.value > d_ffn:
            raise UsageError(f"keep {self} is more than the {d_ffn} FFN channels of this model")
        k = max(1, round(self.value * d_ffn)) if self.is_fraction else int(self.value)
        if self.align > 1:
            k = min(d_ffn, -(-k // self.align) * self.align)
        return k

    def __str__(self) -> str:
        return f"{self.value:g}" if self.is_fraction else str(int(self.value))


_CLIP_TOL = 1e-6  # l >= 1 - _CLIP_TOL counts as clipped in the backward pass


def _check(n: int, k: int, eps: float | None = None) -> None:
    if not 1 <= k <= n:
        raise UsageError(f"k must be in [1, {n}], got {k}")
    if eps is not None and not eps > 0:
        raise UsageError(f"eps must be > 0, got {eps}")


def _solve(s: mx.array, k: int, eps: float) -> mx.array:
    """Forward solve in float32 for rows along the last axis (exact, sort-based)."""
    n = s.shape[-1]
    if k == n:
        return mx.ones_like(s)
    # Only the top k can be clipped (at most k-1 of them), so sort just those. Everything is
    # measured from the k-th largest score `ref`: the boundary then lies in u in [-log n, 0]
    # and the numbers that matter stay small, whatever the range of the scores or eps.
    part = mx.partition(s, n - k, axis=-1)
    ref = part[..., n - k : n - k + 1]
    top = mx.sort(part[..., n - k :], axis=-1)  # ascending, top[..., 0] == ref
    base = mx.logsumexp((part[..., : n - k] - ref) / eps, axis=-1, keepdims=True)
    # cum[p] = log sum of exp(u) over everything up to ascending top-index p: the tail left
    # unclipped when the k-1-p largest are clipped; then a_p = log(p + 1) - cum[p].
    cum = mx.logaddexp(base, mx.logcumsumexp((top - ref) / eps, axis=-1))
    log_rem = mx.log(mx.arange(1, k + 1, dtype=mx.float32))
    # Every candidate a_j satisfies f(a_j) <= k, so the true a is the largest candidate.
    a = mx.max(log_rem - cum, axis=-1, keepdims=True)
    return mx.exp(mx.minimum((s - ref) / eps + a, 0.0))


def _soft_topk_fn(k: int) -> Callable[[mx.array, mx.array], mx.array]:
    @mx.custom_function
    def f(s: mx.array, eps: mx.array) -> mx.array:
        return _solve(s, k, eps)

    @f.vjp
    def f_vjp(primals, cotangent, output):
        eps, l_, g = primals[1], output, cotangent
        lu = l_ * (l_ < 1.0 - _CLIP_TOL).astype(l_.dtype)  # the free (unclipped) entries
        total = mx.maximum(mx.sum(lu, axis=-1, keepdims=True), 1e-30)
        mean_g = mx.sum(g * lu, axis=-1, keepdims=True) / total
        return (lu / eps) * (g - mean_g), mx.zeros_like(eps)

    return f


def soft_topk(scores: mx.array, k: int, eps: float | mx.array) -> mx.array:
    """SoftTopK over the last axis: `min(1, exp((s + a)/eps))` with rows summing to k. Computed
    in float32, returned in the dtype of `scores`; differentiable (implicit VJP). ``eps`` may be
    an array (a compiled training step passes it in as one)."""
    _check(scores.shape[-1], k, None if isinstance(eps, mx.array) else eps)
    eps = mx.array(eps, dtype=mx.float32) if not isinstance(eps, mx.array) else eps
    out = _soft_topk_fn(int(k))(scores.astype(mx.float32), eps.astype(mx.float32))
    return out.astype(scores.dtype)


def topk_indicator(x: mx.array, k: int) -> mx.array:
    """0/1 mask (dtype of x) of the k largest per row; ties go to the lowest index."""
    n = x.shape[-1]
    _check(n, k)
    kth = mx.partition(x, n - k, axis=-1)[..., n - k : n - k + 1]
    gt, eq = x > kth, x == kth
    room = k - mx.sum(gt, axis=-1, keepdims=True)
    take = gt | (eq & (mx.cumsum(eq.astype(mx.int32), axis=-1) <= room))
    return take.astype(x.dtype)


def training_mask(scores: mx.array, k: int, eps: float) -> mx.array:
    """The paper's training mask `l * TopK(l, k)`: k soft non-zeros, gradient through l."""
    soft = soft_topk(scores, k, eps)
    return soft * mx.stop_gradient(topk_indicator(soft, k))


def eps_schedule(start: float, end: float, steps: int, kind: str = "exp") -> Callable[[int], float]:
    """eps annealing: step -> eps, from `start` at 0 to `end` at `steps`, then held."""
    if kind not in ("exp", "linear", "constant"):
        raise UsageError(f"unknown eps schedule {kind!r} (exp, linear or constant)")
    if not (start > 0 and end > 0):
        raise UsageError(f"eps must be > 0, got start={start}, end={end}")

    def at(step: int) -> float:
        if kind == "constant":
            return float(start)
        t = min(max(step, 0), steps) / steps if steps > 0 else 1.0
        if kind == "linear":
            return float(start + (end - start) * t)
        return float(math.exp(math.log(start) + (math.log(end) - math.log(start)) * t))

    return at


def content_hash(model: nn.Module, rows: int = 3) -> str:
    """A cheap hash of what ``model`` computes: every array's name, shape and dtype, ``rows``
    evenly spaced rows of each matrix (packed weights as stored), every vector whole, and where
    the model came from (its folder and weight files' sizes and times, its adapters): unlike
    ``fingerprint``, adapters change it."""
    h, info = hashlib.sha256(), origin(model, required=False)
    for key in ("path", "adapter_path"):
        h.update(f"{key}={(where := info.get(key))}".encode())
        if where and Path(where).is_dir():
            for f in sorted(Path(where).glob("*.safetensors")):
                h.update(f"{f.name}:{(st := f.stat()).st_size}:{st.st_mtime_ns}".encode())
    samples = []
    for name, v in nn.utils.tree_flatten(model.parameters()):
        h.update(f"{name}{tuple(v.shape)}{v.dtype}".encode())
        if v.ndim > 1 and v.shape[0] > rows:  # 1-d arrays (norms, biases) whole
            v = v[mx.linspace(0, v.shape[0] - 1, rows).astype(mx.int32)]
        samples.append(v.astype(mx.float32) if mx.issubdtype(v.dtype, mx.floating) else v)
    mx.eval(samples)
    h.update(b"".join(bytes(memoryview(v)) for v in samples))  # (as one update per array)
    return h.hexdigest()[:32]


def fingerprint(model: nn.Module) -> dict:
    """Identity of a source model: its FFN shape and a hash of its config and norm weights
    (never quantized: packed and dequantized copies agree). A model loaded with adapters keeps
    its source's identity (recorded by ``load``)."""
    recorded = origin(model, required=False).get("fingerprint")
    if recorded is not None and ffn.d_ffn(model) == recorded["d_ffn"]:
        return recorded
    blocks = ffn.layers(model)
    args = getattr(model, "args", None)
    shape = {"model_type": ffn.model_type(model), "layers": len(blocks), "d_ffn": ffn.d_ffn(model)}
    shape.update({k: getattr(args, k, None) for k in ("hidden_size", "vocab_size")})
    h = hashlib.sha256(json.dumps(shape, sort_keys=True).encode())
    for block in (blocks[0], blocks[-1]):
        for _, v in nn.utils.tree_flatten(block.parameters()):
            if v.ndim == 1:  # norms (and biases): small, never quantized
                h.update(bytes(memoryview(v.astype(mx.float32))))
    return {**shape, "hash": h.hexdigest()[:16]}


def check_fingerprint(recorded: dict, model: nn.Module, what: str) -> None:
    """Raise a one-line UsageError if ``recorded`` (a fingerprint) is not ``model``'s."""
    fp = fingerprint(model)
    if recorded and recorded != fp:
        diff = [k for k in fp if fp[k] != recorded.get(k)]
        raise UsageError(
            f"{what} another model (differs in {', '.join(diff)}): made for "
            f"{recorded.get('model_type')} with {recorded.get('layers')}x{recorded.get('d_ffn')} "
            f"FFN channels, this model is {fp['model_type']} with {fp['layers']}x{fp['d_ffn']}"
        )


@dataclass
class Mask:
    """Per-layer kept channel indices, shape (L, k), sorted when made: one set, one mask."""

    indices: mx.array
    d_ffn: int
    model: dict = field(default_factory=dict)  # the fingerprint of the source model
    source: str = ""  # which mask source made it
    text_hash: str = ""  # hash of the prompt or task text it was made for
    sidecar_forms = {}  # NAME: (to sidecar, from it) for a source NAME(FOLDER): no local path

    def __post_init__(self):
        if _fits(self.indices):  # (anything else is refused where it is used)
            self.indices = mx.sort(self.indices, axis=-1)

    @property
    def k(self) -> int:
        """Channels kept in each layer."""
        return int(self.indices.shape[-1])

    @property
    def n_layers(self) -> int:
        """Layers the mask covers (its indices' rows)."""
        return int(self.indices.shape[0])

    @property
    def keep(self) -> float:
        """The fraction of each layer's ``d_ffn`` channels kept (``k / d_ffn``)."""
        self.check_indices()  # (a mask wider than its d_ffn is no mask: refused, not a keep > 1)
        if not (isinstance(d := self.d_ffn, numbers.Integral) and 0 < self.k <= d):
            raise UsageError(f"mask keeps {self.k} of {d!r} FFN channels: not a mask of a model")
        return self.k / d

    @classmethod
    def full(cls, model: nn.Module) -> Mask:
        """The mask that keeps every FFN channel of ``model`` (nothing pruned)."""
        L, d = len(ffn.layers(model)), ffn.d_ffn(model)
        idx = mx.broadcast_to(mx.arange(d, dtype=mx.int32), (L, d))
        return cls(idx, d, fingerprint(model), "full")

    def __eq__(self, other) -> bool:  # (the dataclass's compared MLX arrays: an error)
        meta = ("d_ffn", "model", "source", "text_hash", "k", "n_layers")
        same = isinstance(other, Mask) and all(getattr(self, a) == getattr(other, a) for a in meta)
        return same and self.digest() == other.digest()

    def digest(self) -> str:
        """A short hash of the kept indices."""
        return _digest(self.indices)

    def dense(self, dtype=mx.float32) -> mx.array:
        """The 0/1 mask of shape (L, d_ffn)."""
        L = self.n_layers
        rows = mx.broadcast_to(mx.arange(L)[:, None], self.indices.shape)
        m = mx.zeros((L, self.d_ffn), dtype=dtype)
        return m.at[rows, self.indices].add(mx.array(1, dtype))

    def check_indices(self) -> None:
        """Refuse indices that are not an (L, k) mx.array of integers."""
        if not _fits(self.indices):
            raise UsageError("a mask's indices must be an mx.array of integers, shape (layers, k)")

    def check(self, model: nn.Module) -> None:
        """Refuse a mask made for another model, or whose indices do not fit this one."""
        check_fingerprint(self.model, model, "mask belongs to")
        if not self.model and (file := vars(self).pop("_file", None)):  # once, for a file
            why = "names no source model: only its shape is checked against this one"
            warnings.warn(f"mask {file} {why}", stacklevel=3)
        self.check_indices()
        idx, n, d = self.indices, len(ffn.layers(model)), ffn.d_ffn(model)
        if self.d_ffn != d or idx.shape[0] != n or not 0 < idx.shape[1] <= d:
            got = f"{idx.shape[0]}x{idx.shape[1]} of {self.d_ffn}"
            raise UsageError(f"mask keeps {got} FFN channels; this model has {n} layers of {d}")
        if not _fits(idx, d):
            raise UsageError(f"mask indices must be distinct channels in [0, {d}) in each layer")

    @staticmethod
    def files(path: str | os.PathLike) -> tuple[Path, Path]:
        """The ``.safetensors`` file and ``.json`` sidecar a mask path names: ``NAME``,
        ``NAME.safetensors`` and ``NAME.json`` name one pair; another suffix is part of the name
        (``mask_k0.5`` -> ``mask_k0.5.safetensors``, not ``mask_k0.safetensors``); ``~`` expands."""
        if not isinstance(path, str | os.PathLike) or not str(path).strip():
            raise UsageError(f"a mask file path must be a non-empty str or path, got {path!r}")
        path = Path(path).expanduser()
        if path.name in ("", ".", ".."):
            raise UsageError(f"a mask file path must name a file, got {str(path)!r}")
        if path.suffix in (".safetensors", ".json"):
            path = path.with_suffix("")
        return path.with_name(f"{path.name}.safetensors"), path.with_name(f"{path.name}.json")

    @classmethod
    def writable(cls, path: str | os.PathLike) -> tuple[Path, Path]:
        """``files(path)``, both checked writable before either is written (or any work); not a
        folder's path (``masks/``: the pair would land beside the folder, as ``masks.json``)."""
        pair = cls.files(path)
        if str(path).endswith(("/", os.sep)) or Path(path).expanduser().is_dir():
            raise UsageError(f"{path} is a folder: give a mask's path, e.g. {Path(path) / 'mask'}")
        return tuple(check_writable(p) for p in pair)

    def save(self, path: str | Path) -> Path:
        """Write ``path`` (.safetensors) and its .json sidecar, each atomically; the sidecar holds
        the indices' digest, so ``load`` refuses the halves of two saves (one interrupted)."""
        self.check_indices()
        d = int(self.d_ffn) if isinstance(self.d_ffn, numbers.Integral) else 0
        if not _fits(self.indices, d):
            raise UsageError(f"mask indices must be distinct channels in [0, {self.d_ffn!r})")
        meta = {k: v for k, v in asdict(self).items() if k != "indices"}
        meta.update(d_ffn=d, format_version=FORMAT_VERSION, k=self.k, layers=self.n_layers)
        path, sidecar = self.writable(path)
        if form := self.sidecar_forms.get(str(self.source).partition("(")[0]):
            meta.update(form[0](self, sidecar.parent))
        try:
            text = json.dumps({**meta, "digest": self.digest()}, indent=2)
        except (TypeError, ValueError) as e:
            raise UsageError(f"cannot save the mask: its metadata is not JSON ({e})") from None
        arrays, tag = {"indices": self.indices.astype(mx.int32)}, {"mlx_ifp": "mask"}
        with atomic_file(path) as tmp:
            mx.save_safetensors(str(tmp), arrays, metadata=tag)
        with atomic_file(sidecar) as tmp:
            tmp.write_text(text)
        return path

    @classmethod
    def load(cls, path: str | Path, model: nn.Module | None = None) -> Mask:
        """Read a mask file; with ``model``, refuse it if it was made for another model."""
        st, js = cls.files(path)
        if missing := [f for f in (st, js) if not f.exists()]:
            raise UsageError(f"mask file not found: {missing[0]} (a mask is {st.name} + {js.name})")
        try:
            meta = read_json(js, "mask sidecar")
            idx = read_safetensors(st, "mask file").get("indices")
        except UsageError as e:
            raise UsageError(f"not a valid mlx_ifp mask file: {e}") from None
        if isinstance(v := meta.get("format_version"), int) and v > FORMAT_VERSION:
            raise UsageError(f"mask {st} is format {v}, newer than this mlx_ifp reads: upgrade it")
        try:
            d_ffn, fp = int(meta["d_ffn"]), meta.get("model", {})
            ok = isinstance(fp, dict) and _fits(idx, d_ffn)
        except (KeyError, TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            raise UsageError(f"not a valid mlx_ifp mask file: {st} (indices or sidecar broken)")
        source, text = str(meta.get("source", "")), str(meta.get("text_hash", ""))
        if form := cls.sidecar_forms.get(source.partition("(")[0]):
            source = form[1](meta, js.parent)  # found here, if it is (meta: where it looked)
        mask = cls(idx.astype(mx.int32), d_ffn, fp, source, text)  # sorted (of old: as saved)
        if meta.get("digest", _digest(idx)) != _digest(idx):
            raise UsageError(f"mask file {st} and its sidecar are of two saves: save it again")
        mask._file, mask.sidecar_meta = str(st), meta  # (no model named: ``check`` says)
        if model is not None:
            mask.check(model)
        return mask


def _digest(idx: mx.array) -> str:
    return hashlib.sha256(bytes(memoryview(idx.astype(mx.int32)))).hexdigest()[:16]


def _fits(idx, d: int | None = None) -> bool:
    """Whether ``idx`` is an (L, k) mx.array of integers; with ``d``: k <= d distinct in [0, d)."""
    ok = isinstance(idx, mx.array) and idx.ndim == 2 and mx.issubdtype(idx.dtype, mx.integer)
    if not ok or d is None or not 0 < idx.shape[1] <= d:
        return ok and d is None
    s = mx.sort(idx, axis=-1)
    inside = s.size == 0 or (s.min().item() >= 0 and s.max().item() < d)
    return inside and not (s[:, 1:] == s[:, :-1]).any().item()


def topk_indices(scores: mx.array, k: int) -> mx.array:
    """Indices (..., k) int32, ascending, of the k largest scores in each row: the package's one
    top-k, training's rule too (``topk_indicator``'s: ties to the lowest index)."""
    n, every = scores.shape[-1], mx.arange(scores.shape[-1], dtype=mx.int32)
    if k >= n:
        return mx.broadcast_to(every, scores.shape)
    idx = mx.where(topk_indicator(scores.astype(mx.float32), k) > 0, every, n)
    return mx.sort(idx, axis=-1)[..., :k]
