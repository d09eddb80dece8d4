"""One FFN mechanism for every architecture, and what else the package reads off a model.

A gated FFN is ``down(act(gate(x)) * up(x))``. Channel ``i`` of the intermediate dimension is
row ``i`` of gate/up and column ``i`` of down. Architectures plug in through ``ARCHITECTURES``
(model_type -> ``FFNSpec``); unknown ones are probed once against the module's own output.
Slicing lives in ``slicing``. Also here: the parameters and bytes of a model and of its FFNs
(``count``, quantized weights counted unpacked); LoRA layers, found, switched off for one block
of code (``lora_disabled``: the teacher of distillation and the predictor's GRIFFIN features
read the *source* model, whatever adapters the LLM carries; full-weight finetunes keep a frozen
copy instead) or fused (``fused_lora``, ``lora_delta``: the one home of fusing, for exports and
slim models); and where a loaded model came from (``origin``, ``exported_width``), which
``mlx_ifp.load`` records and export, mask files and predictors read back."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import mlx.core as mx
import mlx.nn as nn
from mlx_lm.models.activations import swiglu

from ..common import UsageError


@dataclass(frozen=True)
class FFNSpec:
    """Names of an architecture's FFN projections and its gating function glu(gate, up)."""

    glu: Callable[[mx.array, mx.array], mx.array] = swiglu
    gate: str = "gate_proj"
    up: str = "up_proj"
    down: str = "down_proj"
    mlp: str = "mlp"

    def __deepcopy__(self, memo):  # shared by a model's deep copies: it is immutable, and its
        return self  # glu may be mx.compile'd (mlx-lm's swiglu), which cannot be copied


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


def model_type(model: nn.Module) -> str:
    """The mlx-lm ``model_type`` of a model ("unknown" if it has none)."""
    args = getattr(model, "args", None)
    return str(getattr(model, "model_type", None) or getattr(args, "model_type", "unknown"))


def spec_of(model: nn.Module) -> FFNSpec:
    """The ``FFNSpec`` for this model: registered, or found by probing layer 0's FFN once."""
    mtype = model_type(model)
    if mtype in ARCHITECTURES:
        return ARCHITECTURES[mtype]
    mlp = getattr(layers(model)[0], "mlp", None)
    if mlp is None or not all(hasattr(mlp, n) for n in ("gate_proj", "up_proj", "down_proj")):
        raise UsageError(
            f"architecture '{mtype}' has no gated gate/up/down FFN that mlx_ifp can prune; "
            "register one with mlx_ifp.ffn.register_architecture"
        )
    x = mx.random.normal((1, 2, in_dims(mlp.gate_proj)), key=mx.random.key(0))
    x = x.astype(weight_dtype(mlp.gate_proj))
    ref = mlp(x)
    # the closest match, not the first within tolerance: GELU and its tanh form differ by ~1e-4
    candidates = (SILU, FFNSpec(glu=_gelu_approx_glu), FFNSpec(glu=_gelu_glu))
    errors = [mx.abs(_forward(mlp, c, x) - ref).max().item() for c in candidates]
    best = candidates[errors.index(min(errors))]
    if mx.allclose(_forward(mlp, best, x), ref, rtol=1e-3, atol=1e-3).item():
        ARCHITECTURES[mtype] = best
        return best
    raise UsageError(f"architecture '{mtype}': could not identify its FFN activation")


def ffns(model: nn.Module) -> list[nn.Module]:
    """Each layer's FFN module."""
    spec = spec_of(model)
    return [getattr(layer, spec.mlp) for layer in layers(model)]


def d_ffn(model: nn.Module) -> int:
    """Width of the FFN intermediate dimension (the same in every layer)."""
    spec = spec_of(model)
    widths = {out_dims(getattr(f, spec.gate)) for f in ffns(model)}
    if len(widths) != 1:
        raise UsageError(f"FFN widths differ across layers ({sorted(widths)}): not supported")
    return widths.pop()


# ---------------------------------------------------------------- masked and observed forward

_MASKS: contextvars.ContextVar = contextvars.ContextVar("mlx_ifp_masks", default=None)
_OBSERVER: contextvars.ContextVar = contextvars.ContextVar("mlx_ifp_observer", default=None)


class MaskableFFN(nn.Module):
    """A gated FFN that multiplies its activation by the active mask, if any. Children keep the
    original names, so parameter paths (and checkpoints) do not change. Masks live in a context
    variable, never on the module."""

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
    with masks_set(None if masks is None else _per_layer(masks, len(layers(model)))):
        yield


@contextlib.contextmanager
def observed(model: nn.Module, fn: Callable[[int, mx.array], None]) -> Iterator[None]:
    """Call ``fn(layer_index, activation)`` with each FFN's (masked) activation (B, T, d_ffn)."""
    install(model)
    with _set(_OBSERVER, fn):
        yield


def active_masks() -> list | None:
    """The per-layer masks of the innermost ``masked`` block (None outside one)."""
    return _MASKS.get()


def masks_set(per_layer: list | None) -> contextlib.AbstractContextManager:
    """Set already split per-layer masks (as ``active_masks`` returns them) for a block."""
    return _set(_MASKS, per_layer)


@contextlib.contextmanager
def _set(var: contextvars.ContextVar, value) -> Iterator[None]:
    """``var`` holds ``value`` inside the block (in this thread), then what it held before."""
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


def layer_path(root: nn.Module, first_block: nn.Module) -> list[str]:
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


# ---------------------------------------------------------------- shapes


def in_dims(m: nn.Module) -> int:
    """Input width of a projection (plain, quantized or LoRA)."""
    if hasattr(m, "linear"):  # LoRA
        return in_dims(m.linear)
    return m.weight.shape[1] * 32 // m.bits if "scales" in m else m.weight.shape[1]


def out_dims(m: nn.Module) -> int:
    """Output width of a projection."""
    return out_dims(m.linear) if hasattr(m, "linear") else m.weight.shape[0]  # (LoRA: its base)


def weight_dtype(m: nn.Module) -> mx.Dtype:
    """The float dtype a projection computes in."""
    if "scales" in m:
        return m.scales.dtype
    return weight_dtype(m.linear) if hasattr(m, "linear") else m.weight.dtype


def _logical_params(module: nn.Module) -> int:
    n = 0
    leaves = module.leaf_modules()
    for _, leaf in nn.utils.tree_flatten(leaves, is_leaf=lambda m: isinstance(m, nn.Module)):
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


def lora_layers(model: nn.Module) -> list[nn.Module]:
    """The LoRA (or DoRA) layers inside ``model`` (mlx-lm's, recognised by their parameters)."""
    found = (m for _, m in model.named_modules())
    return [m for m in found if "lora_a" in m and "lora_b" in m and hasattr(m, "scale")]


_LORA_OFF: contextvars.ContextVar = contextvars.ContextVar("mlx_ifp_lora_off", default=frozenset())
_SWITCHABLE: dict[type, type] = {}  # a LoRA class -> the same class with a ``_Scale``


class _Scale:
    """A LoRA layer's ``scale``: 0 inside this thread's ``lora_disabled`` block, else its own."""

    def __get__(self, m, owner=None):
        return self if m is None else 0.0 if id(m) in _LORA_OFF.get() else m.__dict__["scale"]

    def __set__(self, m, value):
        m.__dict__["scale"] = value


def _as_lora_class(m, protocol):  # pickled (and copied) as the LoRA class it was switched from
    _, _, *rest = object.__reduce_ex__(m, max(protocol, 2))  # (its state, its dict's items)
    return (dict.__new__, (type(m).__base__,), *rest)


@contextlib.contextmanager
def lora_disabled(model: nn.Module) -> Iterator[None]:
    """Inside the block, every LoRA layer adds nothing (its scale reads 0): the source model.
    In this thread only (a context variable, as masks are): another thread running or slicing
    the same layers meanwhile sees their scale (two threads' blocks could leave it at 0)."""
    loras = lora_layers(model)  # (not ``layers``: that is this module's function)
    for m in loras:  # mlx-lm's LoRA and DoRA layers keep their scale in the instance dict
        if "scale" in vars(m) and not isinstance(vars(type(m)).get("scale"), _Scale):
            if (cls := type(m)) not in _SWITCHABLE:
                attrs = {"scale": _Scale(), "__module__": cls.__module__}
                attrs["__reduce_ex__"] = _as_lora_class  # (pickle finds no class of its name)
                _SWITCHABLE[cls] = type(cls.__name__, (cls,), attrs)
            m.__class__ = _SWITCHABLE[cls]
    with _set(_LORA_OFF, _LORA_OFF.get() | {id(m) for m in loras}):
        yield


@contextlib.contextmanager
def random_state_kept() -> Iterator[None]:
    """MLX's global random state after the block as before it: weights drawn only to be replaced
    by loaded ones (a LoRA's, a predictor's) leave the caller's ``mx.random.seed`` alone. MLX
    keeps one state per thread: another thread's draws are not rewound."""
    hi, lo = mx.random.state[0].tolist()  # a key is (seed >> 32, seed & 0xFFFFFFFF)
    try:
        yield
    finally:
        mx.random.seed(hi << 32 | lo)


def lora_delta(m: nn.Module, rows: mx.array | None = None, cols: mx.array | None = None):
    """A LoRA layer's float (out, in) weight delta ``scale * (A B)^T``, optionally only output
    ``rows`` or input ``cols``: a slice costs a slice of the low-rank product.

    Computed in float32 whatever the adapter's dtype: as exact as the LoRA forward on a float32
    model, and on CPU float32 runs through BLAS while a float16 product does not (the shipped
    float16 LoRA's per-slice delta took 5-8x longer, most of a slim copy's time)."""
    a = m.lora_a if cols is None else m.lora_a[cols]
    b = m.lora_b if rows is None else m.lora_b[:, rows]
    return (m.scale * b.T.astype(mx.float32)) @ a.T.astype(mx.float32)


def fused_lora(
    model: nn.Module, dequantize: bool = False, bits: int | None = None, where=None
) -> dict[str, nn.Module]:
    """mlx-lm LoRA layers by name (those ``where(name)`` accepts), each fused as `mlx_lm fuse`
    does: float where the base layer is float or ``dequantize``, else packed at its own bits
    (or at ``bits``: dequantized, delta added, quantized once; float in a mode without them)."""
    out = {}
    for name, m in model.named_modules():
        if "lora_a" not in m or not hasattr(m, "fuse") or (where and not where(name)):
            continue
        base = m.linear
        repack = bits is not None and not dequantize and isinstance(base, nn.QuantizedLinear)
        with random_state_kept():  # mlx-lm's fuse and from_linear draw layers, then set them
            lin = m.fuse(dequantize=dequantize or repack)
            if repack and (base.mode in ("affine", "mxfp8") or base.bits == bits):  # else float
                lin = nn.QuantizedLinear.from_linear(lin, base.group_size, bits, mode=base.mode)
        lin.freeze()
        out[name] = lin
    return out


ATTRIBUTE = "_ifp_origin"  # kept off the module tree: not a parameter, never saved


def record_origin(model, info: dict) -> None:
    """Attach ``info`` (model, path, config, fingerprint, adapter_path) to ``model``."""
    object.__setattr__(model, ATTRIBUTE, dict(info))


def origin(model, required: bool = True) -> dict:
    """What ``record_origin`` attached ({} if absent; ``required``: ``mlx_ifp.load``'s record)."""
    found = getattr(model, ATTRIBUTE, None)
    if required and "model" not in (found or {}):  # (a slim model of one not loaded: its width)
        raise UsageError("this model was not loaded with mlx_ifp.load (no config to export)")
    return {} if found is None else found


def exported_width(model) -> tuple[int, int] | None:
    """(k, d_ffn) an export of a pruned model was cut to (its config's ``mlx_ifp`` record)."""
    r = (origin(model, required=False).get("config") or {}).get("mlx_ifp")
    k, d = (r.get("k"), r.get("d_ffn")) if isinstance(r, dict) else (None, None)
    return (k, d) if type(k) is int and type(d) is int and k < d else None
