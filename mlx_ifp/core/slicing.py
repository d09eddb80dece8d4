"""Slice FFN channels out of projections, and build the slim model sharing all other arrays.

Weight types plug in through ``SLICERS`` (module class -> how to keep rows / input channels).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
import threading
import weakref
from collections.abc import Callable, Sequence

import mlx.core as mx
import mlx.nn as nn

from ..common import UsageError
from . import ffn
from .ffn import fused_lora, lora_delta


def _copy(module: nn.Module, **arrays) -> nn.Module:
    new = copy.copy(module)
    new._no_grad = set(module._no_grad)
    vars(new).pop(HELD, None)
    for name, value in arrays.items():
        setattr(new, name, value)
    return new


def _replaced(model: nn.Module, modules: dict[str, nn.Module]) -> nn.Module:
    """A shallow copy of ``model`` with the modules at these dotted names (list items by index)
    replaced. Only the containers on the way down are copied, each once; all else is shared."""
    root, made = _copy(model), set()

    def put(node, key: str, child) -> None:
        if isinstance(node, list):
            node[int(key)] = child
        else:
            setattr(node, key, child)

    for name, module in modules.items():
        node, *path, last = [root, *name.split(".")]
        for key in path:
            child = node[int(key)] if isinstance(node, list) else node[key]
            if id(child) not in made:
                child = list(child) if isinstance(child, list) else _copy(child)
                made.add(id(child))
                put(node, key, child)
            node = child
        put(node, last, module)
    return root


def own_tree(node, memo: dict):
    """``node`` with each module, list and dict under it copied once (``memo``), its arrays shared:
    a slim model's (or an adapted copy's) tree is its own to change (``nn.quantize``, LoRA)."""
    if not isinstance(node, nn.Module | dict | list) or id(node) in memo:
        return memo.get(id(node), node)
    new = memo[id(node)] = type(node).__new__(type(node))  # (not copy.copy: 4x slower)
    if isinstance(node, nn.Module):  # its attributes, a set of its own among them
        vars(new).update(vars(node), _no_grad=set(node._no_grad))
    if isinstance(node, list):
        new.extend(own_tree(v, memo) for v in node)
    else:
        dict.update(new, {k: own_tree(v, memo) for k, v in node.items()})
    return new


def _plus(w: mx.array, delta: mx.array | None) -> mx.array:
    return w if delta is None else w + delta.astype(w.dtype)


def _linear_rows(m, idx, delta=None):
    extra = {"bias": m.bias[idx]} if "bias" in m else {}
    return _copy(m, weight=_plus(m.weight[idx], delta), **extra)


def _take_cols(w: mx.array, idx: mx.array) -> mx.array:
    """``w[:, idx]``, by the gather each backend runs fastest (``tools/bench_slice.py``).

    On CPU take_along_axis is ~7x faster than fancy indexing (22 vs 164 ms for SmolLM2's 30
    down projections at keep 0.5); on the H200 fancy indexing is 2.4x faster (5.9 vs 14.2 ms
    for the 8B shape's 32 at keep 1/3).
    """
    if mx.default_device() != mx.cpu:
        return w[:, idx]
    return mx.take_along_axis(w, mx.broadcast_to(idx[None], (w.shape[0], idx.size)), axis=1)


def _linear_cols(m, idx, delta=None):
    return _copy(m, weight=_plus(_take_cols(m.weight, idx), delta))


def _packed(m, w: mx.array, bits: int) -> nn.Module:
    """A copy of packed projection ``m`` holding float ``w`` quantized at ``bits``."""
    q = mx.quantize(w, m.group_size, bits, mode=m.mode)
    arrays = {"weight": q[0], "scales": q[1]}
    if len(q) > 2 and q[2] is not None:
        arrays["biases"] = q[2]
    new = _copy(m, **arrays)
    new.bits = bits
    return new


#: bits of a requantized slim projection (at least): 4-bit requantization of the kept down
#: columns added KL 0.319 to SmolLM2's slim model at keep 0.5, 8-bit 0.0011, at the bytes of
#: the source's 4-bit down projection (half the columns, twice the bits): docs/correctness.md.
#: Fusing the shipped LoRA into gate/up rows at 4 bits added KL 0.051 (tools/lora_decode_cost.py)
REQUANT_MIN_BITS = 8


def _requantized(m, w: mx.array) -> nn.Module:
    """Float ``w`` (out, in) in the place of packed projection ``m``: quantized once (same group
    size and mode) at ``REQUANT_MIN_BITS`` bits at least where the group size divides its input
    width and the mode has such bits (affine, mxfp8), else float (the scales' dtype), exactly
    ``w``: mxfp4/nvfp4 have only 4 bits, the second rounding ``REQUANT_MIN_BITS`` avoids."""
    bits = max(m.bits, REQUANT_MIN_BITS) if m.mode == "affine" else m.bits
    if w.shape[1] % m.group_size == 0 and bits >= REQUANT_MIN_BITS:
        return _packed(m, w, bits)
    with ffn.random_state_kept():  # its constructor draws weights: the caller's seed stays
        out = nn.Linear(w.shape[1], w.shape[0], bias="bias" in m)
    out.weight = w
    if "bias" in m:
        out.bias = m.bias
    out.freeze()  # like the packed projection it replaces
    return out


def _quantized_rows(m, idx, delta=None):
    """Output rows of a packed projection: kept exactly, or (with a delta) requantized once
    (``_requantized``)."""
    new = _copy(m, **{k: m[k][idx] for k in ("weight", "scales", "biases", "bias") if k in m})
    return new if delta is None else _requantized(new, _plus(dense_weight(new), delta))


def _quantized_cols(m, idx, delta=None):
    """Input channels of a packed projection: the only requantization, done in the slim copy.

    Packed groups run along the input dimension, so single channels cannot be kept as they
    are: the kept columns are dequantized (plus ``delta``), then quantized again into a standard
    ``nn.QuantizedLinear`` (mlx-lm's layout) when ``k`` is a multiple of the group size, or kept
    float (``_requantized``). The source model is never changed.
    """
    return _requantized(m, _plus(mx.contiguous(_take_cols(dense_weight(m), idx)), delta))


def _lora_rows(m, idx, delta=None):
    d = lora_delta(m, rows=idx)
    return slice_rows(m.linear, idx, d if delta is None else d + delta)


def _lora_cols(m, idx, delta=None):
    d = lora_delta(m, cols=idx)
    return slice_cols(m.linear, idx, d if delta is None else d + delta)


#: module class -> (keep output rows, keep input channels), each ``(module, idx, delta=None)``:
#: ``delta``, a float (kept out, kept in) addition, is fused into the slice (how LoRA layers
#: leave no LoRA in a slim model). Plug in new weight types here.
SLICERS: dict[type, tuple[Callable, Callable]] = {
    nn.Linear: (_linear_rows, _linear_cols),
    nn.QuantizedLinear: (_quantized_rows, _quantized_cols),
}
#: mlx-lm's LoRALinear, matched by name: importing ``mlx_lm.tuner`` would load its trainer UI.
#: Its slice is its base layer's slice with the sliced low-rank delta fused in.
LORA = (_lora_rows, _lora_cols)


def _slicer(module: nn.Module, which: int) -> Callable:
    if type(module).__name__ == "LoRALinear" and "lora_a" in module:
        return LORA[which]
    for cls in type(module).__mro__:
        if cls in SLICERS and SLICERS[cls][which] is not None:
            return SLICERS[cls][which]
    kind = "output rows" if which == 0 else "input channels"
    raise UsageError(f"cannot slice the {kind} of a {type(module).__name__}")


def slice_rows(module: nn.Module, idx: mx.array, delta: mx.array | None = None) -> nn.Module:
    """A copy of a projection keeping output rows ``idx`` (plus a float ``delta``, if given)."""
    return _slicer(module, 0)(module, idx, delta)


def slice_cols(module: nn.Module, idx: mx.array, delta: mx.array | None = None) -> nn.Module:
    """A copy of a projection keeping input channels ``idx`` (plus a float ``delta``)."""
    return _slicer(module, 1)(module, idx, delta)


#: at most this many CPU streams slice layers at once (each MLX stream runs on its own thread)
MAX_SLICE_STREAMS = 4
_local = threading.local()  # MLX streams belong to the thread that made them
HELD = "_ifp_held"  # what is kept for a model (``models.Kept``): ``_copy`` leaves it off copies


def slice_streams() -> list:
    """Streams to spread the layers' slices over: on the CPU one per core (up to
    ``MAX_SLICE_STREAMS``; 2 streams sliced Qwen2.5-1.5B's FFNs 2.4x faster than one on a 2-core
    machine, copies being single-threaded), elsewhere just the default one (``None``). MLX
    streams can only be used in the thread that made them, so each thread makes its own, once."""
    if mx.default_device() != mx.cpu:
        return [None]
    streams = getattr(_local, "streams", None)
    if streams is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        n = max(1, min(MAX_SLICE_STREAMS, cores or 1))
        streams = [mx.default_stream(mx.cpu)] + [mx.new_stream(mx.cpu) for _ in range(n - 1)]
        _local.streams = streams
    return streams


def _ffn_slices(mlp: nn.Module, idx: mx.array, spec) -> dict[str, nn.Module]:
    """An FFN's gate/up rows and down columns ``idx``, each a new projection."""
    return {
        spec.gate: slice_rows(getattr(mlp, spec.gate), idx),
        spec.up: slice_rows(getattr(mlp, spec.up), idx),
        spec.down: slice_cols(getattr(mlp, spec.down), idx),
    }


def _with_blocks(model: nn.Module, first: nn.Module, new_of: dict[int, nn.Module]) -> nn.Module:
    """``model`` with the transformer blocks in ``new_of`` (keyed by the old block's id)
    replaced; ``first`` is its first FFN block, which locates the list they live in."""
    path, listed = ffn.layer_path(model, first), model
    for key in path:
        listed = listed[key]
    prefix = ".".join(path)
    return _replaced(
        model, {f"{prefix}.{j}": new_of[id(b)] for j, b in enumerate(listed) if id(b) in new_of}
    )


def slim_copy(
    model: nn.Module, indices: Sequence[mx.array] | mx.array, streams: list | None = None
) -> nn.Module:
    """A new model whose FFNs keep ``indices[l]`` in layer ``l``; all other arrays are shared.

    Every module is a shallow copy (the slim model's own to change); attention, norms and
    embeddings hold the very same arrays as ``model``. The new FFN arrays are evaluated here,
    the layers spread over ``streams`` (default ``slice_streams()``).
    """
    spec, blocks = ffn.spec_of(model), ffn.layers(model)
    if len(indices) != len(blocks):
        raise UsageError(f"mask has {len(indices)} layers, model has {len(blocks)}")
    ks = {int(i.shape[-1]) for i in indices}
    if len(ks) != 1:
        raise UsageError("every layer must keep the same number of channels")
    k = ks.pop()
    new_blocks, new_arrays = {}, []
    streams = streams or slice_streams()
    for j, (block, idx) in enumerate(zip(blocks, indices, strict=True)):
        mlp = getattr(block, spec.mlp)
        on = streams[j % len(streams)]
        with mx.stream(on) if on is not None else contextlib.nullcontext():
            parts = _ffn_slices(mlp, idx, spec)
        new_mlp = _copy(mlp, **parts)
        new_arrays += [v for _, v in nn.utils.tree_flatten(new_mlp.parameters())]
        new_blocks[id(block)] = _copy(block, **{spec.mlp: new_mlp})
    mx.eval(new_arrays)
    root = own_tree(_with_blocks(model, blocks[0], new_blocks), {})
    args = getattr(model, "args", None)
    if dataclasses.is_dataclass(args) and hasattr(args, "intermediate_size"):
        object.__setattr__(root, "args", dataclasses.replace(args, intermediate_size=k))
    return root


def _put(w: mx.array, slots: mx.array, new: mx.array, axis: int) -> mx.array:
    """``w`` with its rows (``axis`` 0) or columns (1) ``slots`` replaced by ``new``.

    A new array: it takes over ``w``'s memory when nothing else holds ``w`` (MLX donation), so
    an in-place update writes only the slots. put_along_axis, not ``w[:, slots] = new``: on CPU
    ~10x faster for SmolLM2's down columns and ~3.5x for gate/up rows (``docs/results/reroute/``).
    """
    if w.ndim == 2:  # a bias is 1-d
        slots = mx.broadcast_to(slots[:, None] if axis == 0 else slots[None], new.shape)
    return mx.put_along_axis(w, slots, new, axis=axis)


def slim_update(
    model: nn.Module,
    slim: nn.Module,
    order: Sequence[list[int]],
    indices: Sequence[mx.array],
    in_place: bool = False,
) -> tuple[nn.Module, list[list[int]]]:
    """``slim_copy(model, indices)`` computed from a slim copy ``slim`` of ``model`` whose
    layer ``l`` holds channels ``order[l]`` (in that order): each channel that left gives its
    slot (gate/up row, down column) to one that came in, sliced out of ``model`` with its LoRA
    delta; the others stay where they are. Unchanged layers are shared; ``in_place`` writes the
    slots into ``slim``'s own arrays (only for a slim model nobody else holds: a few rows are
    written, not whole matrices copied). Float projections only: a packed layer is sliced whole.
    Returns the slim model and its channels' order.
    """
    spec = ffn.spec_of(model)
    names = (spec.gate, spec.up, spec.down)
    src_blocks, old_blocks = ffn.layers(model), ffn.layers(slim)
    blocks, orders, arrays = [], [], []
    for src, old, have, idx in zip(src_blocks, old_blocks, order, indices, strict=True):
        want = idx.tolist()
        if len(want) != len(have):  # slots are traded one for one: the width is the slim one's
            raise UsageError(f"slim_update keeps the width: {len(want)} channels, not {len(have)}")
        wanted, old_mlp, src_mlp = set(want), getattr(old, spec.mlp), getattr(src, spec.mlp)
        out = [i for i, c in enumerate(have) if c not in wanted]
        if not out:
            blocks.append(old)
            orders.append(list(have))
            continue
        if any(type(getattr(old_mlp, n)) is not nn.Linear for n in names):  # packed: whole
            parts, channels = _ffn_slices(src_mlp, idx, spec), want
        else:
            came = sorted(wanted - set(have))
            slots, add = mx.array(out, dtype=mx.int32), mx.array(came, dtype=mx.int32)
            parts = {}
            for n in (spec.gate, spec.up):  # weight (and bias): the slots' rows
                new, proj = slice_rows(getattr(src_mlp, n), add), getattr(old_mlp, n)
                parts[n] = {k: _put(proj[k], slots, new[k], 0) for k in new}
            new = slice_cols(getattr(src_mlp, spec.down), add).weight
            parts[spec.down] = {"weight": _put(getattr(old_mlp, spec.down).weight, slots, new, 1)}
            channels = list(have)
            for i, c in zip(out, came, strict=True):
                channels[i] = c
        if in_place and isinstance(parts[spec.down], dict):
            for n, fresh in parts.items():
                for k, v in fresh.items():
                    setattr(getattr(old_mlp, n), k, v)
            mlp, block = old_mlp, old
        else:
            parts = {n: _copy(getattr(old_mlp, n), **v) if isinstance(v, dict) else v
                     for n, v in parts.items()}  # fmt: skip
            mlp = _copy(old_mlp, **parts)
            block = _copy(old, **{spec.mlp: mlp})
        arrays += [v for _, v in nn.utils.tree_flatten(mlp.parameters())]
        blocks.append(block)
        orders.append(channels)
    mx.eval(arrays)
    new_of = {id(o): b for o, b in zip(old_blocks, blocks, strict=True) if b is not o}
    return (_with_blocks(slim, old_blocks[0], new_of) if new_of else slim), orders


def watch_arrays(model: nn.Module) -> Callable[[], bool]:
    """A check of whether an array of ``model`` was replaced, added or dropped since this call
    (``load_weights``, ``update``, LoRA layers put in): slim copies cut before are then stale.
    The arrays, and the model, are held weakly (kept beside it, no cycle keeps it alive)."""
    held, owner = {k: weakref.ref(v) for k, v in _arrays(model).items()}, weakref.ref(model)

    def changed() -> bool:  # (the model gone: a key no model has, so changed)
        now = _arrays(m) if (m := owner()) is not None else {None: None}
        return now.keys() != held.keys() or any(ref() is not now[k] for k, ref in held.items())

    return changed


def _arrays(node, out: dict | None = None, path: str = "") -> dict:
    """``dict(tree_flatten(node.parameters()))`` in a third of the time (~0.3 ms on SmolLM2)."""
    out = {} if out is None else out
    for k, v in node.items() if isinstance(node, dict) else enumerate(node):
        if isinstance(k, str) and k.startswith("_"):
            continue
        if isinstance(v, mx.array):
            out[f"{path}{k}"] = v
        elif isinstance(v, dict | list):
            _arrays(v, out, f"{path}{k}.")
    return out


def lora_fused_base(model: nn.Module, bits: int | None) -> nn.Module:
    """``model`` with its LoRA layers outside the FFN (attention) fused once: packed ones at
    ``bits`` (float if None), float ones float; ``model`` itself if it has none. Only the
    containers above them are copied. Slim copies of it carry no LoRA: FFN LoRA is fused as it
    is sliced."""
    mlp = f".{ffn.spec_of(model).mlp}."
    where = lambda name: mlp not in f".{name}."  # noqa: E731
    fused = fused_lora(model, dequantize=bits is None, bits=bits, where=where)
    if not fused:
        return model
    root = _replaced(model, fused)
    mx.eval([v for _, v in nn.utils.tree_flatten(root.parameters())])
    return root


def dense_weight(module: nn.Module) -> mx.array:
    """The float (out, in) weight of a projection: plain, quantized or LoRA."""
    if hasattr(module, "linear") and "lora_a" in module:  # LoRA: W + scale * (A B)^T
        return dense_weight(module.linear) + lora_delta(module).astype(mx.float32)
    if "scales" in (m := module):
        return mx.dequantize(m.weight, m.scales, m.get("biases"), m.group_size, m.bits, m.mode)
    return module.weight


def channel_norms(model: nn.Module) -> mx.array:
    """Per-layer L2 norms of each channel's gate row, up row and down column: (3, L, d_ffn)."""
    spec, out, norm = ffn.spec_of(model), [], mx.linalg.norm
    names = (spec.gate, spec.up, spec.down)
    for f in ffn.ffns(model):
        g, u, d = (dense_weight(getattr(f, n)).astype(mx.float32) for n in names)
        out.append(mx.stack([norm(g, axis=1), norm(u, axis=1), norm(d, axis=0)]))
        mx.eval(out[-1])
    return mx.stack(out, axis=1)
