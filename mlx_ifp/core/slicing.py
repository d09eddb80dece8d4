"""Slice FFN channels out of projections, and build the slim model that shares all the rest.

Weight types plug in through ``SLICERS`` (module class -> how to keep rows / input channels).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Sequence

import mlx.core as mx
import mlx.nn as nn

from ..errors import UsageError
from . import ffn


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


#: bits of a requantized slim down projection (at least): 4-bit requantization of the kept
#: columns added KL 0.319 to SmolLM2's slim model at keep 0.5, 8-bit 0.0011, at the bytes of
#: the source's 4-bit down projection (half the columns, twice the bits): docs/correctness.md
REQUANT_MIN_BITS = 8


def _quantized_cols(m, idx):
    """Input channels of a packed projection: the only requantization, done in the slim copy.

    Packed groups run along the input dimension, so single channels cannot be kept as they
    are: the kept columns are dequantized, then quantized again (same group size, at least
    ``REQUANT_MIN_BITS`` bits) into a standard ``nn.QuantizedLinear`` (mlx-lm's layout) when
    ``k`` is a multiple of the group size; otherwise the slim matrix stays float (the scales'
    dtype), exactly the dequantized columns. The source model is never changed.
    """
    w = mx.contiguous(_take_cols(dense_weight(m), idx))  # (out, k), a fresh row-major array
    k = int(idx.size)
    if k % m.group_size == 0:
        bits = max(m.bits, REQUANT_MIN_BITS) if m.mode == "affine" else m.bits
        q = mx.quantize(w, m.group_size, bits, mode=m.mode)
        arrays = {"weight": q[0], "scales": q[1]}
        if len(q) > 2 and q[2] is not None:
            arrays["biases"] = q[2]
        new = _copy(m, **arrays)
        new.bits = bits
        return new
    out = nn.Linear(k, w.shape[0], bias="bias" in m)
    out.weight = w
    if "bias" in m:
        out.bias = m.bias
    out.freeze()  # like the packed projection it replaces
    return out


def _lora_rows(m, idx):
    return _copy(m, linear=slice_rows(m.linear, idx), lora_b=m.lora_b[:, idx])


def _lora_cols(m, idx):
    return _copy(m, linear=slice_cols(m.linear, idx), lora_a=m.lora_a[idx, :])


#: module class -> (keep output rows, keep input channels). Plug in new weight types here.
SLICERS: dict[type, tuple[Callable, Callable]] = {
    nn.Linear: (_linear_rows, _linear_cols),
    nn.QuantizedLinear: (_quantized_rows, _quantized_cols),
}
#: mlx-lm's LoRALinear, matched by name: importing ``mlx_lm.tuner`` would load its trainer UI
LORA = (_lora_rows, _lora_cols)


def _slicer(module: nn.Module, which: int) -> Callable:
    if type(module).__name__ == "LoRALinear" and "lora_a" in module:
        return LORA[which]
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


def slim_copy(model: nn.Module, indices: Sequence[mx.array] | mx.array) -> nn.Module:
    """A new model whose FFNs keep ``indices[l]`` in layer ``l``; all else is shared, not copied.

    The containers down to each FFN are shallow copies; attention, norms and embeddings are
    the very same modules and arrays as in ``model``. The new FFN arrays are evaluated here.
    """
    spec = ffn.spec_of(model)
    blocks = ffn.layers(model)
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
    path = ffn.layer_path(model, blocks[0])
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
    """The float (out, in) weight of a projection: plain, quantized or LoRA."""
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
    spec = ffn.spec_of(model)
    out = []
    for f in ffn.ffns(model):
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
