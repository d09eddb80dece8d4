"""Models for ``mlx_ifp bench``: random-weight Llama presets, a synthetic tokenizer, the
same-shape dense reference, and the real model with its 4-bit twin; and the report of a run
(``mlx_ifp.bench.run``): its tables and the decode-speed plot."""

from __future__ import annotations

from pathlib import Path

import mlx.core as mx
import mlx.nn as nn

from ..core import UsageError, atomic_file, record_origin

TASK = "Answer short general-knowledge questions about history, science and geography."
PROMPT = (
    "Explain, step by step, how a bill becomes a law, how photosynthesis works, why the sky "
    "is blue, and what a Python list comprehension does. Give examples for each. "
)
#: Llama shapes for random-weight runs (Llama 3.2 1B/3B, Llama 3.1 8B, SmolLM2-135M, and the
#: second embedded model's, Qwen2.5-Coder-1.5B: its widths, heads and untied 151,936-token
#: vocabulary, run as a Llama, without Qwen2's q/k/v biases), each with its model's context.
PRESETS = {
    "135m": dict(hidden_size=576, num_hidden_layers=30, intermediate_size=1536,
                 num_attention_heads=9, num_key_value_heads=3, vocab_size=49152,
                 rope_theta=100000.0, tie_word_embeddings=True, max_position_embeddings=8192),
    "1.5b": dict(hidden_size=1536, num_hidden_layers=28, intermediate_size=8960,
                 num_attention_heads=12, num_key_value_heads=2, vocab_size=151936,
                 rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=False,
                 max_position_embeddings=32768),
    "1b": dict(hidden_size=2048, num_hidden_layers=16, intermediate_size=8192,
               num_attention_heads=32, num_key_value_heads=8, vocab_size=128256,
               rope_theta=500000.0, tie_word_embeddings=True, max_position_embeddings=131072),
    "3b": dict(hidden_size=3072, num_hidden_layers=28, intermediate_size=8192,
               num_attention_heads=24, num_key_value_heads=8, vocab_size=128256,
               rope_theta=500000.0, tie_word_embeddings=True, max_position_embeddings=131072),
    "8b": dict(hidden_size=4096, num_hidden_layers=32, intermediate_size=14336,
               num_attention_heads=32, num_key_value_heads=8, vocab_size=128256,
               rope_theta=500000.0, tie_word_embeddings=False, max_position_embeddings=131072),
    "tiny": dict(hidden_size=64, num_hidden_layers=2, intermediate_size=128,
                 num_attention_heads=4, num_key_value_heads=2, vocab_size=256,
                 tie_word_embeddings=True, max_position_embeddings=2048),  # for tests
}  # fmt: skip


# ---------------------------------------------------------------- models


def _default_dtype(dtype: str | None) -> mx.Dtype:
    if dtype:
        return getattr(mx, dtype)
    return mx.float32 if mx.default_device() == mx.cpu else mx.bfloat16


def random_llama(config: dict, dtype: mx.Dtype, seed: int = 0, quantize: bool = False):
    """A random-weight mlx-lm Llama of ``config`` (optionally 4-bit, group size 64)."""
    from mlx_lm.models import llama

    cfg = {"model_type": "llama", "rms_norm_eps": 1e-5, **config}
    fields = llama.ModelArgs.__dataclass_fields__
    mx.random.seed(seed)
    model = llama.Model(llama.ModelArgs(**{k: v for k, v in cfg.items() if k in fields}))
    for _, m in model.named_modules():  # cast and evaluate one module at a time (peak memory)
        params = {k: v.astype(dtype) for k, v in m.parameters().items() if isinstance(v, mx.array)}
        if params:
            m.update(params)
            mx.eval(params)
    if quantize:
        nn.quantize(model, group_size=64, bits=4)
        mx.eval(model.parameters())
    model.eval()
    record_origin(model, {"model": "random", "path": "", "config": cfg})
    return model


def synthetic_tokenizer(vocab_size: int):
    """A word-level tokenizer over ``t0 .. t{vocab-1}`` for random-weight models."""
    from mlx_lm.tokenizer_utils import TokenizerWrapper
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({f"t{i}": i for i in range(vocab_size)}, unk_token="t0"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    eos = AddedToken("t1", single_word=True, special=True)  # not the head of "t10", "t100"...
    return TokenizerWrapper(PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=eos))


def same_shape_dense(model: nn.Module, k: int, dtype: mx.Dtype) -> nn.Module:
    """(f) A random dense model with ``model``'s config but FFN width ``k``."""
    cfg = dict(vars(model.args))
    cfg["intermediate_size"] = k
    if cfg.get("model_type") == "llama":
        net = random_llama(cfg, dtype, seed=1)
    else:  # its own classes: mlx-lm runs some types (mistral) with another's module
        fields = type(model.args).__dataclass_fields__
        net = type(model)(type(model.args)(**{k: v for k, v in cfg.items() if k in fields}))
        if "lm_head" in net and "lm_head" not in model:  # tied on load (Gemma 3's sanitize)
            net.pop("lm_head")
            net.tie_word_embeddings = True
        net.update(nn.utils.tree_map(lambda p: p.astype(dtype), net.parameters()))
        mx.eval(net.parameters())
    q = next((m for _, m in model.named_modules() if isinstance(m, nn.QuantizedLinear)), None)
    return net.eval() if q is None else four_bit(net, q.group_size, q.bits)  # packed alike


def preset_config(preset: str) -> dict:
    """The shape of ``--preset``; an unknown name refused in one line."""
    if preset not in PRESETS:
        raise UsageError(f"unknown preset {preset!r} (choose from {', '.join(PRESETS)})")
    return PRESETS[preset]


def build(model: str, preset: str | None, dtype: str | None):
    """(source, tokenizer, 4-bit source factory, prompt maker, task tokens or text)."""
    from ..models import load

    dt = _default_dtype(dtype)
    if preset:
        cfg = preset_config(preset)
        tok = synthetic_tokenizer(cfg["vocab_size"])
        src = random_llama(cfg, dt)

        def prompt(n):
            ids = mx.random.randint(2, cfg["vocab_size"], (n,), key=mx.random.key(7))
            return ids.tolist()

        task = mx.random.randint(2, cfg["vocab_size"], (24,), key=mx.random.key(8)).tolist()
        return src, tok, lambda: random_llama(cfg, dt, quantize=True), prompt, task
    src, tok = load(model, dtype=dtype)

    def prompt(n):
        ids = tok.encode(PROMPT * (n // 20 + 2), add_special_tokens=False)
        return ids[:n]

    return src, tok, lambda: four_bit(load(model, dequantize=False, dtype=dtype)[0]), prompt, TASK


def four_bit(model: nn.Module, group_size: int = 64, bits: int = 4) -> nn.Module:
    """``model`` as loaded if it is quantized, else quantized (4 bits, group size 64) where
    the input width allows (a float folder loaded packed is still float)."""
    if not any(isinstance(m, nn.QuantizedLinear) for _, m in model.named_modules()):
        fits = lambda _, m: hasattr(m, "to_quantized") and m.weight.shape[-1] % group_size == 0  # noqa: E731
        nn.quantize(model, group_size=group_size, bits=bits, class_predicate=fits)
        mx.eval(model.parameters())
    return model


# ---------------------------------------------------------------- report

NAMES = {
    "b_masked": "(b) masked, not sliced",
    "c_slim": "(c) slim, materialised",
    "d_cached": "(d) slim, cache hit",
    "e_mlx_lm": "(e) exported, mlx_lm",
    "e_mlx_ifp": "(e) exported, mlx_ifp",
    "f_same_shape": "(f) dense, slim shape",
    "g_q4_slim": "(g) slim from 4-bit",
    "h_prefill": "(h) mask read off the dense prefill",
}
TARGETS = {
    "slim_vs_same_shape": ("slim / same-shape dense decode", ">= 0.97"),
    "slim_vs_same_shape_interleaved": ("slim / same-shape dense, interleaved", ">= 0.97"),
    "speedup_vs_source": ("slim / source decode", ""),
    "ideal_speedup": ("ideal (weight bytes read per token)", ""),
    "speedup_of_ideal": ("speed-up / ideal", ">= 0.9 (CPU), 0.8 (GPU)"),
    "speedup_interleaved": ("slim / source decode, interleaved", ""),
    "speedup_of_ideal_interleaved": ("speed-up / ideal, interleaved", ">= 0.9 (CPU), 0.8 (GPU)"),
    "select_slice_of_prefill": ("(select + slice) / source prefill", "<= 0.10"),
    "prefill_select_slice_overhead": ("(h) select + slice added to the prefill", "<= 0.10"),
    "cache_hit_ms": ("cache hit (ms)", "< 1"),
    "mlx_ifp_vs_mlx_lm": ("mlx_ifp / mlx_lm decode, same folder", ">= 0.98"),
    "resident_vs_allowed": ("active mem / (source + slim FFN)", "<= 1.05"),
}


def _f(x, fmt: str = ".1f") -> str:
    return "-" if x is None else format(x, fmt)


def _tps(v: dict) -> str:
    """Decode tok/s: the median, ± the standard deviation over the trials where there are two."""
    std = v.get("decode_tps_std")
    return _f(v.get("decode_tps")) + ("" if std is None else f" ± {std:.1f}")


def rows(result: dict) -> list[list[str]]:
    """One row per (keep, variant): keep, k, variant, select, slice, prefill, TTFT, tok/s, peak."""
    out = []
    for name, r in (
        ("(a) dense source", result.get("dense")),
        ("4-bit source", result.get("q4_dense")),
    ):
        if r:
            ms = r["prefill_s"] * 1e3
            out.append(["1", str(result["d_ffn"]), name, "-", "-", _f(ms), _f(ms),
                        _tps(r), _f(r["peak_gb"], ".3f")])  # fmt: skip
    for run in result["runs"]:
        for key, v in run["variants"].items():
            sel = v.get("select_s", 0.0) * 1e3 if key == "c_slim" else None
            sli = v.get("slice_s", 0.0) * 1e3 if "slice_s" in v else None
            hit = v.get("hit_s", 0.0) * 1e3 if "hit_s" in v else None
            pre = v["prefill_s"] * 1e3 if "prefill_s" in v else None
            ttft = None if pre is None else pre + (sel or 0) + (sli or 0) + (hit or 0)
            if key == "h_prefill":  # selection rides on the dense prefill; no TTFT (H_NOTE)
                sel = v["select_s"] * 1e3
                pre = v["prefill_select_slice_s"] * 1e3 - sel - sli
            out.append([str(run["keep"]), str(run["k"]), NAMES.get(key, key),
                        _f(sel if hit is None else hit, ".2f"), _f(sli), _f(pre), _f(ttft),
                        _tps(v), _f(v.get("peak_gb"), ".3f")])  # fmt: skip
    return out


HEADER = ["keep", "k", "variant", "select/hit ms", "slice ms", "prefill ms", "TTFT ms",
          "decode tok/s", "peak GB"]  # fmt: skip
#: under the table where (h) ran: its prefill is not mlx-lm's prompt time, as the others' is
H_NOTE = ("(h): prefill ms fills the KV cache alone, without the first token's step that the "
          "other rows' prefill and TTFT hold (no TTFT: compare its targets row)")  # fmt: skip


def _h_ran(result: dict) -> bool:
    return any("h_prefill" in run["variants"] for run in result["runs"])


def markdown(result: dict) -> str:
    """The variant table and the ratio table as Markdown."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(r) + " |" for r in rows(result)]
    lines += ["", H_NOTE] if _h_ran(result) else []
    lines += ["", "| keep | ratio | value | target |", "|---|---|---|---|"]
    for run in result["runs"]:
        for key, value in run["ratios"].items():
            label, target = TARGETS.get(key, (key, ""))
            lines.append(f"| {run['keep']} | {label} | {_f(value, '.3f')} | {target} |")
    return "\n".join(lines)


def alternated(result: dict) -> bool:
    """Whether a variant ran in alternating trials: (a), (c) and (f), (e)'s two sides or (h)."""
    alone = {"e_mlx_lm", "h_prefill"}
    return any("interleaved" in run or alone & run["variants"].keys() for run in result["runs"])


def print_tables(result: dict, stderr: bool = False) -> None:
    """Rich tables on the terminal (``stderr``: there, when the JSON goes to stdout)."""
    from rich.console import Console
    from rich.table import Table

    title = (
        f"{result['model']} on {result['device']} ({result['dtype']}, {result['blas']}), "
        f"prompt {result['prompt_tokens']}, gen {result['gen_tokens']}, "
        f"median of {result['trials']}"
    )
    spread = any("±" in r[7] for r in rows(result))  # (e): alternating trials, even of 1
    if result.get("alternating_trials", 0) > result["trials"] and alternated(result):
        title += f", alternating trials {result['alternating_trials']}"  # at least 3
    title += ", decode tok/s ± its std dev" if spread else ""
    t = Table(title=title, caption=H_NOTE if _h_ran(result) else None)
    for h in HEADER:
        t.add_column(h, justify="left" if h == "variant" else "right")
    for r in rows(result):
        t.add_row(*r)
    width = max(Console(stderr=stderr).width, 120)  # narrow pipes would wrap every cell
    console = Console(width=width, stderr=stderr)
    console.print(t)
    rt = Table(title="targets")
    for h in ("keep", "ratio", "value", "target"):
        rt.add_column(h)
    for run in result["runs"]:
        for key, value in run["ratios"].items():
            label, target = TARGETS.get(key, (key, ""))
            rt.add_row(str(run["keep"]), label, _f(value, ".3f"), target)
    console.print(rt)


def plot(result: dict, path: str | Path) -> Path:
    """Decode tok/s against keep ratio, one line per variant, the dense source as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    runs = sorted(result["runs"], key=lambda r: r["k"])
    keeps = [r["k"] / result["d_ffn"] for r in runs]
    for key in ("b_masked", "c_slim", "d_cached", "f_same_shape", "e_mlx_lm", "g_q4_slim"):
        ys = [r["variants"].get(key, {}).get("decode_tps") for r in runs]
        pts = [(x, y) for x, y in zip(keeps, ys, strict=True) if y is not None]
        if pts:
            ax.plot(*zip(*pts, strict=True), marker="o", label=NAMES[key])
    dense = result.get("dense")
    if dense:
        ax.axhline(dense["decode_tps"], color="gray", ls="--", label="(a) dense source")
        ideal = [dense["decode_tps"] * r["ideal_ratio"] for r in runs]
        ax.plot(keeps, ideal, color="gray", ls=":", label="ideal (bytes ratio)")
    ax.set_xlabel("kept fraction of FFN channels")
    ax.set_ylabel("decode tokens/s")
    ax.set_title(f"{result['model']}, {result['device']}, {result['dtype']}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    with atomic_file(path) as tmp:
        fig.savefig(tmp, dpi=120, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path
