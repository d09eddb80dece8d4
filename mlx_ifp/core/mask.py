"""The mask: per-layer kept FFN channels, the model fingerprint, and the mask file format.

A mask is an (L, k) int32 array of sorted channel indices, the same k in every layer, plus
the fingerprint of the model it belongs to. On disk: ``NAME.safetensors`` + ``NAME.json``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn

from ..common import UsageError, atomic_file, read_json, read_safetensors
from . import ffn
from .origin import origin
from .softtopk import hard_topk_indices

FORMAT_VERSION = 1


def content_hash(model: nn.Module, rows: int = 3) -> str:
    """A cheap hash of what ``model`` computes: a few sampled rows of every parameter array.

    Covers every array's name, shape and dtype, ``rows`` evenly spaced rows of each matrix
    (packed weights as stored), every vector whole, and where the model came from (its folder
    and weight files' sizes and times, its adapters), so two same-shape models with different
    weights hash differently.
    Unlike ``fingerprint``, adapters that change weights change it too.
    """
    h = hashlib.sha256()
    info = origin(model, required=False)
    for key in ("path", "adapter_path"):
        where = info.get(key)
        h.update(f"{key}={where}".encode())
        folder = Path(where) if where else None
        if folder is not None and folder.is_dir():
            for f in sorted(folder.glob("*.safetensors")):
                st = f.stat()
                h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    samples = []
    for name, v in nn.utils.tree_flatten(model.parameters()):
        h.update(f"{name}{tuple(v.shape)}{v.dtype}".encode())
        if v.ndim > 1 and v.shape[0] > rows:  # 1-d arrays (norms, biases) whole
            v = v[mx.linspace(0, v.shape[0] - 1, rows).astype(mx.int32)]
        samples.append(v.astype(mx.float32) if mx.issubdtype(v.dtype, mx.floating) else v)
    mx.eval(samples)
    for v in samples:
        h.update(bytes(memoryview(v)))
    return h.hexdigest()[:32]


def fingerprint(model: nn.Module) -> dict:
    """Identity of a source model: its FFN shape and a hash of its config and norm weights.

    Norm weights stay unquantized, so the packed and dequantized copies of a model agree.
    A model loaded with adapters keeps the identity of its source (recorded by ``load``).
    """
    recorded = origin(model, required=False).get("fingerprint")
    if recorded is not None and ffn.d_ffn(model) == recorded["d_ffn"]:
        return recorded
    blocks = ffn.layers(model)
    args = getattr(model, "args", None)
    shape = {
        "model_type": ffn.model_type(model),
        "layers": len(blocks),
        "d_ffn": ffn.d_ffn(model),
        "hidden_size": getattr(args, "hidden_size", None),
        "vocab_size": getattr(args, "vocab_size", None),
    }
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
    """Per-layer kept channel indices, sorted, shape (L, k)."""

    indices: mx.array
    d_ffn: int
    model: dict = field(default_factory=dict)  # the fingerprint of the source model
    source: str = ""  # which mask source made it
    text_hash: str = ""  # hash of the prompt or task text it was made for

    @property
    def k(self) -> int:
        return int(self.indices.shape[-1])

    @property
    def n_layers(self) -> int:
        return int(self.indices.shape[0])

    @property
    def keep(self) -> float:
        return self.k / self.d_ffn

    @classmethod
    def full(cls, model: nn.Module) -> Mask:
        L, d = len(ffn.layers(model)), ffn.d_ffn(model)
        idx = mx.broadcast_to(mx.arange(d, dtype=mx.int32), (L, d))
        return cls(idx, d, fingerprint(model), "full")

    def digest(self) -> str:
        """A short hash of the kept indices."""
        return hashlib.sha256(bytes(memoryview(self.indices.astype(mx.int32)))).hexdigest()[:16]

    def dense(self, dtype=mx.float32) -> mx.array:
        """The 0/1 mask of shape (L, d_ffn)."""
        L = self.n_layers
        rows = mx.broadcast_to(mx.arange(L)[:, None], self.indices.shape)
        m = mx.zeros((L, self.d_ffn), dtype=dtype)
        return m.at[rows, self.indices].add(mx.array(1, dtype))

    def check(self, model: nn.Module) -> None:
        """Refuse a mask made for another model."""
        check_fingerprint(self.model, model, "mask belongs to")

    def save(self, path: str | Path) -> Path:
        """Write ``path`` (.safetensors) and its .json sidecar, each atomically."""
        path = Path(path).with_suffix(".safetensors")
        meta = {k: v for k, v in asdict(self).items() if k != "indices"}
        meta.update(format_version=FORMAT_VERSION, k=self.k, layers=self.n_layers)
        with atomic_file(path) as tmp:
            mx.save_safetensors(
                str(tmp), {"indices": self.indices.astype(mx.int32)}, metadata={"mlx_ifp": "mask"}
            )
        with atomic_file(path.with_suffix(".json")) as tmp:
            tmp.write_text(json.dumps(meta, indent=2))
        return path

    @classmethod
    def load(cls, path: str | Path, model: nn.Module | None = None) -> Mask:
        """Read a mask file; with ``model``, refuse it if it was made for another model."""
        path = Path(path)
        st, js = path.with_suffix(".safetensors"), path.with_suffix(".json")
        if not st.exists() or not js.exists():
            raise UsageError(f"mask file not found: {st} (and its .json sidecar)")
        try:
            meta = read_json(js, "mask sidecar")
            idx = read_safetensors(st, "mask file").get("indices")
        except UsageError as e:
            raise UsageError(f"not a valid mlx_ifp mask file: {e}") from None
        try:
            d_ffn = int(meta["d_ffn"])
            fp, source = meta.get("model", {}), meta.get("source", "")
            text = meta.get("text_hash", "")
            ok = idx is not None and idx.ndim == 2 and 0 < idx.shape[1] <= d_ffn
            ok = ok and isinstance(fp, dict) and mx.issubdtype(idx.dtype, mx.integer)
            ok = ok and (idx.size == 0 or (idx.min().item() >= 0 and idx.max().item() < d_ffn))
        except (KeyError, TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            raise UsageError(f"not a valid mlx_ifp mask file: {st} (indices or sidecar broken)")
        mask = cls(idx.astype(mx.int32), d_ffn, fp, str(source), str(text))
        if model is not None:
            mask.check(model)
        return mask


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def topk_indices(scores: mx.array, k: int) -> mx.array:
    """Sorted indices of the k largest scores in each row of (L, d).

    The one top-k of the package: training's hard masks use the same rule (``softtopk``), so
    ties go to the lowest index in both and the served mask is the trained one.
    """
    if k >= scores.shape[-1]:
        return mx.broadcast_to(mx.arange(scores.shape[-1], dtype=mx.int32), scores.shape)
    return hard_topk_indices(scores.astype(mx.float32), k)
