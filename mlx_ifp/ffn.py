"""One FFN mechanism for every architecture: find, mask, observe, slice and count gated FFNs.

A gated FFN is ``down(act(gate(x)) * up(x))``. Channel ``i`` of the intermediate dimension is
row ``i`` of gate/up and column ``i`` of down. Architectures plug in through ``ARCHITECTURES``
(model_type -> ``FFNSpec``); unknown ones are probed once against the module's own output.
Weight types plug in through ``SLICERS`` (module class -> how to keep rows / input channels).
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import mlx.core as mx
import mlx.nn as nn
from mlx_lm.models.activations import swiglu

from .errors import UsageError
from .qlinear import ChannelQuantizedLinear


@dataclass(frozen=True)
class FFNSpec:
    """Names of an architecture's FFN projections and its gating function glu(gate, up)."""

    glu: Callable[[mx.array, mx.array], mx.array] = swiglu
    gate: str = "gate_proj"
    up: str = "up_proj"
    down: str = "down_proj"
    mlp: str = "mlp"


def _gelu_glu(g, u):
    return nn.gelu(g) * u


def _gelu_approx_glu(g, u):
    return nn.gelu_approx(g) * u


SILU = FFNSpec()
ARCHITECTURES: dict[str, FFNSpec] = {
    **{t: SILU for t in ("llama", "mistral", "qwen2", "qwen3", "smollm3", "olmo2", "granite")},
    "gemma": FFNSpec(glu=_gelu_glu),
    **{t: FFNSpec(glu=_gelu_approx_glu) for t in ("gemma2", "gemma3", "gemma3_text")},
}


def register_architecture(model_type: str, spec: FFNSpec) -> None:
    """Plug in an architecture whose FFN is gated but not recognised automatically."""
    ARCHITECTURES[model_type] = spec


# ---------------------------------------------------------------- finding the FFNs


def layers(model: nn.Module) -> list[nn.Module]:
    """The transformer blocks of an mlx-lm model."""
    blocks = getattr(model, "layers", None)
    if not isinstance(blocks, list) or not blocks:
        raise UsageError(f"{type(model).__name__} exposes no `layers`: not an mlx-lm LLM?")
    return blocks


def backbone(model: nn.Module) -> nn.Module | None:
    """The decoder stack that maps tokens to final hidden states (mlx-lm's ``model.model``)."""
    inner = getattr(model, "model", None)
    return inner if isinstance(inner, nn.Module) and callable(inner) else None


def _model_type(model: nn.Module) -> str:
    args = getattr(model, "args", None)
    return str(getattr(model, "model_type", None) or getattr(args, "model_type", "unknown"))


def spec_of(model: nn.Module) -> FFNSpec:
    """The ``FFNSpec`` for this model: registered, or found by probing layer 0's FFN once."""
    mtype = _model_type(model)
    if mtype in ARCHITECTURES:
        return ARCHITECTURES[mtype]
    mlp = getattr(layers(model)[0], "mlp", None)
    if mlp is None or not all(hasattr(mlp, n) for n in ("gate_proj", "up_proj", "down_proj")):
        raise UsageError(
            f"architecture '{mtype}' has no gated gate/up/down FFN that mlx_ifp can prune; "
            "register one with mlx_ifp.ffn.register_architecture"
        )
    x = mx.random.normal((1, 2, _in_dims(mlp.gate_proj)), key=mx.random.key(0))
    x = x.astype(_dtype(mlp.gate_proj))
    ref = mlp(x)
    for candidate in (SILU, FFNSpec(glu=_gelu_approx_glu), FFNSpec(glu=_gelu_glu)):
        if mx.allclose(_forward(mlp, candidate, x), ref, rtol=1e-3, atol=1e-3).item():
            ARCHITECTURES[mtype] = candidate
            return candidate
    raise UsageError(f"architecture '{mtype}': could not identify its FFN activation")


def ffns(model: nn.Module) -> list[nn.Module]:
    """Each layer's FFN module."""
    spec = spec_of(model)
    return [getattr(layer, spec.mlp) for layer in layers(model)]


def d_ffn(model: nn.Module) -> int:
    """Width of the FFN intermediate dimension (the same in every layer)."""
    spec = spec_of(model)
    widths = {_out_dims(getattr(f, spec.gate)) for f in ffns(model)}
    if len(widths) != 1:
        raise UsageError(f"FFN widths differ across layers ({sorted(widths)}): not supported")
    return widths.pop()


# ---------------------------------------------------------------- masked and observed forward

_MASKS: contextvars.ContextVar = contextvars.ContextVar("mlx_ifp_masks", default=None)
_OBSERVER: contextvars.ContextVar = contextvars.ContextVar("mlx_ifp_observer", default=None)


class MaskableFFN(nn.Module):
    """A gated FFN that multiplies its activation by the active mask, if any.

    Children keep the original names, so parameter paths (and checkpoints) do not change.
    Masks live in a context variable, never on the module.
    """

    def __init__(self, mlp: nn.Module, spec: FFNSpec, index: int):
        super().__init__()
        for name in (spec.gate, spec.up, spec.down):
            setattr(self, name, getattr(mlp, name))
        self._spec = spec
        self._index = index

    def __call__(self, x: mx.array) -> mx.array:
        s = self._spec
        h = s.glu(getattr(self, s.gate)(x), getattr(self, s.up)(x))
        masks = _MASKS.get()
        if masks is not None:
            h = h * masks[self._index]
        observer = _OBSERVER.get()
        if observer is not None:
            observer(self._index, h)
        return getattr(self, s.down)(h)


def _forward(mlp: nn.Module, spec: FFNSpec, x: mx.array) -> mx.array:
    return getattr(mlp, spec.down)(spec.glu(getattr(mlp, spec.gate)(x), getattr(mlp, spec.up)(x)))


def install(model: nn.Module) -> nn.Module:
    """Replace every layer's FFN by a ``MaskableFFN`` sharing its weights (idempotent)."""
    spec = spec_of(model)
    for i, layer in enumerate(layers(model)):
        mlp = getattr(layer, spec.mlp)
        if not isinstance(mlp, MaskableFFN):
            setattr(layer, spec.mlp, MaskableFFN(mlp, spec, i))
    return model


def _per_layer(masks, n_layers: int) -> list:
    if isinstance(masks, mx.array):
        if masks.ndim == 2:  # (L, d)
            return [masks[i] for i in range(n_layers)]
        if masks.ndim == 3:  # (B, L, d) -> (B, 1, d) per layer
            return [masks[:, i, None, :] for i in range(n_layers)]
        if masks.ndim == 4:  # (B, L, T, d) position-dependent
            return [masks[:, i] for i in range(n_layers)]
        raise ValueError(f"mask of shape {masks.shape}: expected (L,d), (B,L,d) or (B,L,T,d)")
    masks = list(masks)
    if len(masks) != n_layers:
        raise ValueError(f"{len(masks)} layer masks for {n_layers} layers")
    return masks


@contextlib.contextmanager
def masked(model: nn.Module, masks) -> Iterator[None]:
    """Run ``model`` with FFN channel masks: a per-layer list, or (L,d) / (B,L,d) / (B,L,T,d)."""
    install(model)
    token = _MASKS.set(None if masks is None else _per_layer(masks, len(layers(model))))
    try:
        yield
    finally:
        _MASKS.reset(token)


@contextlib.contextmanager
def observed(model: nn.Module, fn: Callable[[int, mx.array], None]) -> Iterator[None]:
    """Call ``fn(layer_index, activation)`` with each FFN's (masked) activation (B, T, d_ffn)."""
    install(model)
    token = _OBSERVER.set(fn)
    try:
        yield
    finally:
        _OBSERVER.reset(token)


# ---------------------------------------------------------------- slicing


def _copy(module: nn.Module, **arrays) -> nn.Module:
    new = copy.copy(module)
    new._no_grad = set(module._no_grad)
    for name, value in arrays.items():
        setattr(new, name, value)
    return new


def _linear_rows(m, idx):
    extra = {"bias": m.bias[idx]} if "bias" in m else {}
    return _copy(m, weight=m.weight[idx], **extra)


def _take_cols(w: mx.array, idx: mx.array) -> mx.array:
    """``w[:, idx]``, by the gather each backend runs fastest (``tools/bench_slice.py``).

    On CPU take_along_axis is ~7x faster than fancy indexing (22 vs 164 ms for SmolLM2's 30
    down projections at keep 0.5); on the H200 fancy indexing is 2.4x faster (5.9 vs 14.2 ms
    for the 8B shape's 32 at keep 1/3).
    """
    if mx.default_device() != mx.cpu:
        return w[:, idx]
    return mx.take_along_axis(w, mx.broadcast_to(idx[None], (w.shape[0], idx.size)), axis=1)


def _linear_cols(m, idx):
    return _copy(m, weight=_take_cols(m.weight, idx))


def _quantized_rows(m, idx):
    arrays = {k: m[k][idx] for k in ("weight", "scales", "biases", "bias") if k in m}
    return _copy(m, **arrays)


def _quantized_cols(m, idx):
    return _quantized_rows(m, idx)  # ChannelQuantizedLinear: channels are rows


def _lora_rows(m, idx):
    return _copy(m, linear=slice_rows(m.linear, idx), lora_b=m.lora_b[:, idx])


def _lora_cols(m, idx):
    return _copy(m, linear=slice_cols(m.linear, idx), lora_a=m.lora_a[idx, :])


#: module class -> (keep output rows, keep input channels). Plug in new weight types here.
SLICERS: dict[type, tuple[Callable, Callable]] = {
    nn.Linear: (_linear_rows, _linear_cols),
    nn.QuantizedLinear: (_quantized_rows, None),
    ChannelQuantizedLinear: (None, _quantized_cols),
}
try:
    from mlx_lm.tuner.lora import LoRALinear

    SLICERS[LoRALinear] = (_lora_rows, _lora_cols)
except ImportError:  # pragma: no cover
    pass


def _slicer(module: nn.Module, which: int) -> Callable:
    for cls in type(module).__mro__:
        if cls in SLICERS and SLICERS[cls][which] is not None:
            return SLICERS[cls][which]
    kind = "output rows" if which == 0 else "input channels"
    raise UsageError(f"cannot slice the {kind} of a {type(module).__name__}")


def slice_rows(module: nn.Module, idx: mx.array) -> nn.Module:
    """A copy of a projection keeping output rows ``idx``."""
    return _slicer(module, 0)(module, idx)


def slice_cols(module: nn.Module, idx: mx.array) -> nn.Module:
    """A copy of a projection keeping input channels ``idx``."""
    return _slicer(module, 1)(module, idx)


def prepare(model: nn.Module) -> nn.Module:
    """Make every FFN sliceable in place: quantized down projections become channel-major.

    This requantizes those matrices once (same bits and group size, transposed groups).
    """
    spec = spec_of(model)
    for f in ffns(model):
        down = getattr(f, spec.down)
        holder, name = (down, "linear") if "lora_a" in down else (f, spec.down)
        inner = getattr(holder, name)
        if isinstance(inner, nn.QuantizedLinear):
            setattr(holder, name, ChannelQuantizedLinear.from_quantized(inner))
    return model


def _path_to(root: nn.Module, first_block: nn.Module) -> list[str]:
    """Attribute path from ``root`` to the list that holds the transformer blocks."""
    stack = [(root, [])]
    while stack:
        node, path = stack.pop()
        for key, child in node.items():
            if isinstance(child, list) and any(c is first_block for c in child):
                return path + [key]
            if isinstance(child, nn.Module):
                stack.append((child, path + [key]))
    raise UsageError("could not find the layer list inside the model")


def slim_copy(model: nn.Module, indices: Sequence[mx.array] | mx.array) -> nn.Module:
    """A new model whose FFNs keep ``indices[l]`` in layer ``l``; all else is shared, not copied.

    The containers down to each FFN are shallow copies; attention, norms and embeddings are
    the very same modules and arrays as in ``model``. The new FFN arrays are evaluated here.
    """
    spec = spec_of(model)
    prepare(model)
    blocks = layers(model)
    if len(indices) != len(blocks):
        raise UsageError(f"mask has {len(indices)} layers, model has {len(blocks)}")
    ks = {int(i.shape[-1]) for i in indices}
    if len(ks) != 1:
        raise UsageError("every layer must keep the same number of channels")
    k = ks.pop()
    new_blocks, new_arrays = {}, []
    for block, idx in zip(blocks, indices, strict=True):
        mlp = getattr(block, spec.mlp)
        parts = {
            spec.gate: slice_rows(getattr(mlp, spec.gate), idx),
            spec.up: slice_rows(getattr(mlp, spec.up), idx),
            spec.down: slice_cols(getattr(mlp, spec.down), idx),
        }
        new_mlp = _copy(mlp, **parts)
        new_arrays += [v for _, v in nn.utils.tree_flatten(new_mlp.parameters())]
        new_blocks[id(block)] = _copy(block, **{spec.mlp: new_mlp})
    mx.eval(new_arrays)
    # shallow-copy the chain of containers from the root down to the layer list
    path = _path_to(model, blocks[0])
    root = _copy(model)
    node = root
    for key in path[:-1]:
        child = _copy(node[key])
        setattr(node, key, child)
        node = child
    setattr(node, path[-1], [new_blocks.get(id(b), b) for b in node[path[-1]]])
    args = getattr(model, "args", None)
    if dataclasses.is_dataclass(args) and hasattr(args, "intermediate_size"):
        object.__setattr__(root, "args", dataclasses.replace(args, intermediate_size=k))
    return root


def dense_weight(module: nn.Module) -> mx.array:
    """The float (out, in) weight of a projection: plain, quantized, channel-major or LoRA."""
    if isinstance(module, ChannelQuantizedLinear):
        return module.dequantized()
    if hasattr(module, "linear") and "lora_a" in module:  # LoRA: W + scale * (A B)^T
        delta = (module.scale * (module.lora_a @ module.lora_b)).T
        return dense_weight(module.linear) + delta.astype(mx.float32)
    if "scales" in module:
        return mx.dequantize(
            module.weight,
            module.scales,
            module.get("biases"),
            module.group_size,
            module.bits,
            module.mode,
        )
    return module.weight


def channel_norms(model: nn.Module) -> mx.array:
    """Per-layer L2 norms of each channel's gate row, up row and down column: (3, L, d_ffn)."""
    spec = spec_of(model)
    out = []
    for f in ffns(model):
        g, u, d = (
            dense_weight(getattr(f, n)).astype(mx.float32) for n in (spec.gate, spec.up, spec.down)
        )
        out.append(
            mx.stack(
                [mx.linalg.norm(g, axis=1), mx.linalg.norm(u, axis=1), mx.linalg.norm(d, axis=0)]
            )
        )
        mx.eval(out[-1])
    return mx.stack(out, axis=1)


# ---------------------------------------------------------------- counting


def _in_dims(m: nn.Module) -> int:
    if isinstance(m, ChannelQuantizedLinear):
        return m.weight.shape[0]
    if hasattr(m, "linear"):  # LoRA
        return _in_dims(m.linear)
    w = m.weight
    return w.shape[1] * 32 // m.bits if "scales" in m else w.shape[1]


def _out_dims(m: nn.Module) -> int:
    if isinstance(m, ChannelQuantizedLinear):
        return m.weight.shape[1] * 32 // m.bits
    if hasattr(m, "linear"):
        return _out_dims(m.linear)
    return m.weight.shape[0]


def _dtype(m: nn.Module) -> mx.Dtype:
    if "scales" in m:
        return m.scales.dtype
    return _dtype(m.linear) if hasattr(m, "linear") else m.weight.dtype


def _logical_params(module: nn.Module) -> int:
    n = 0
    for _, leaf in nn.utils.tree_flatten(
        module.leaf_modules(), is_leaf=lambda m: isinstance(m, nn.Module)
    ):
        if "scales" in leaf and hasattr(leaf, "bits"):
            n += leaf.weight.size * 32 // leaf.bits + (leaf.bias.size if "bias" in leaf else 0)
        else:
            n += sum(v.size for _, v in nn.utils.tree_flatten(leaf.parameters()))
    return n


def _unique_nbytes(module: nn.Module) -> int:
    seen, total = set(), 0
    for _, v in nn.utils.tree_flatten(module.parameters()):
        if id(v) not in seen:
            seen.add(id(v))
            total += v.nbytes
    return total


def count(model: nn.Module) -> dict:
    """Parameters and bytes of the whole model and of its FFNs (quantized weights unpacked)."""
    f = ffns(model)
    ffn_params = sum(_logical_params(m) for m in f)
    ffn_bytes = sum(_unique_nbytes(m) for m in f)
    return {
        "params": _logical_params(model),
        "bytes": _unique_nbytes(model),
        "ffn_params": ffn_params,
        "ffn_bytes": ffn_bytes,
        "d_ffn": d_ffn(model),
        "layers": len(f),
    }
