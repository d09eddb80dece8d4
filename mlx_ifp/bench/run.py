"""``mlx_ifp bench``: TTFT (selection, slicing, prefill), decode speed and memory, per variant.

Variants, side by side in one run: (a) the dense source, (b) masked not sliced, (c) the slim
model materialised, (d) the slim model from the per-task cache, (e) the exported slim model
through plain ``mlx_lm`` (and ``e_ifp``: the same folder through ``mlx_ifp``), (f) a random
dense model of the slim model's shape, (g) the slim model sliced from a 4-bit source, (h) a
per-prompt GRIFFIN mask read off the prompt's own dense prefill (``Pruner.prefill``).
Decoding always goes through ``mlx_lm.stream_generate`` (greedy, end-of-sequence ignored; for
``e_ifp``, driven by ``mlx_ifp``'s). With (a) and (c), the source, the slim model and (f) are
also timed in alternating trials, as (e)'s two sides always are, so that machine drift hits
all of them alike; the target ratios use those.
"""

from __future__ import annotations

import contextlib
import functools
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn

from ..core import Budget, UsageError, check_dtype, context_length, count, d_ffn, ffns, masked
from .models import PRESETS, PROMPT, TASK, build, preset_config, same_shape_dense  # noqa: F401

VARIANTS = "abcdefgh"
ALTERNATING = 3  # the fewest alternating trials ((a), (c), (f) and (h)), whatever --trials says

# ---------------------------------------------------------------- measuring


def rss() -> int | None:
    """Resident set size of this process in bytes (Linux), else None."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def decode_bytes(model: nn.Module) -> int:
    """Weight bytes read per decoded token: every matrix, minus an untied embedding table."""
    total = count(model)["bytes"]
    inner = getattr(model, "model", model)
    tied = getattr(getattr(model, "args", None), "tie_word_embeddings", True)
    emb = getattr(inner, "embed_tokens", None)  # an lm_head: untied, whatever args say
    if emb is not None and (not tied or "lm_head" in model):
        total -= sum(v.nbytes for _, v in nn.utils.tree_flatten(emb.parameters()))
    return total


def run_decode(model, tokenizer, prompt: list[int], gen: int, trials: int, ctx=None, stream=None):
    """Median prefill seconds, decode tok/s and peak memory over ``trials`` (after a warm-up),
    the allocator's cache cleared before each pass; ``stream(n)``: the generation timed
    (default: ``mlx_lm.stream_generate`` of ``n`` tokens); tok/s: decode steps, as llama-bench's."""
    from mlx_lm import stream_generate

    tokenizer._eos_token_ids = set()  # random weights: never stop early
    stream = stream or (lambda n: stream_generate(model, tokenizer, mx.array(prompt), max_tokens=n))
    rows = []
    for t in range(trials + 1):
        mx.clear_cache()
        mx.reset_peak_memory()
        with ctx() if ctx else contextlib.nullcontext():
            for last in stream(gen if t else min(gen, 8)):  # noqa: B007  (0: a short warm-up)
                pass
        if t:  # mlx-lm's tok/s: n tokens (the prefill's first too) over n - 1 decode steps
            steps = last.generation_tps * (last.generation_tokens - 1) / last.generation_tokens
            rows.append({"prefill_s": len(prompt) / last.prompt_tps, "peak_gb": last.peak_memory,
                         "decode_tps_all": [steps]})  # fmt: skip
    return merged(rows)


def merged(runs: list[dict]) -> dict:
    """Trials' ``run_decode`` results as one: medians, every decode tok/s (their mean and
    sample std dev, llama-bench's ``avg ± stddev``; one trial: none), the highest peak."""
    tps = [x for r in runs for x in r["decode_tps_all"]]
    std = statistics.stdev(tps) if len(tps) > 1 else None
    return {"prefill_s": statistics.median(r["prefill_s"] for r in runs),
            "decode_tps": statistics.median(tps), "decode_tps_all": tps,
            "decode_tps_mean": statistics.mean(tps), "decode_tps_std": std,
            "peak_gb": max(r["peak_gb"] for r in runs)}  # fmt: skip


def _dtype(model: nn.Module) -> mx.Dtype:
    """The FFN's float dtype (a packed layer's scales: its weight is uint32)."""
    gate = ffns(model)[0].gate_proj
    return getattr(gate, "scales", gate.weight).dtype


def _timed(fn: Callable, trials: int, cold: bool = False) -> tuple[list[float], object]:
    """``fn``'s seconds over ``trials`` calls, and its last result; ``cold``: after an untimed
    warm-up (a first call compiles, allocates), the allocator's cache cleared before each."""
    times, out = [], fn() if cold else None
    for _ in range(trials):
        if cold:
            out = None  # (the previous result's memory given back too)
            mx.clear_cache()
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def _fits(tokens: int, limit: int | None, prompt_tokens: int) -> None:
    if limit and tokens > limit:
        raise UsageError(f"--prompt-tokens {prompt_tokens} + --gen-tokens {tokens - prompt_tokens}"
                         f" exceed the model's context of {limit} tokens")  # fmt: skip


def _once(budgets, keeps, d: int, log) -> tuple[list[int], list]:
    """The channel counts of ``keeps`` on width ``d``, and their keeps: each count once."""
    first: dict[int, object] = {}
    for b, keep in zip(budgets, keeps, strict=True):
        if (k := b.channels(d)) == d > Budget(b.value).channels(d):  # nothing left to prune
            raise UsageError(f"--align {b.align} rounds keep {keep} up to all {d} FFN channels: "
                             "nothing is pruned (give a smaller --align)")  # fmt: skip
        if k in first:
            log(f"keep {keep} is {k} channels, as keep {first[k]}: measured once")
        first.setdefault(k, keep)
    return list(first), list(first.values())


def _number(keep) -> float | int:
    """A keep as the JSON records it: a number (the CLI passes the flag's text)."""
    return value if (value := Budget.parse(keep).value) <= 1 else int(value)


def bench(
    model: str = "smollm2-135m-instruct",
    preset: str | None = None,
    keeps: tuple = (0.5,),
    prompt_tokens: int = 512,
    gen_tokens: int = 64,
    trials: int = 3,
    align: int = 1,
    variants: str = VARIANTS,
    dtype: str | None = None,
    log: Callable[[str], None] = print,
    on_progress: Callable[[dict], None] | None = None,
) -> dict:
    """Measure every requested variant at every keep ratio; return one JSON-able dict.

    ``on_progress(result)`` is called after each keep ratio (e.g. to save partial results).
    """
    from ..models import blas_status

    check_dtype(dtype)
    if prompt_tokens < 2 or gen_tokens < 2 or trials < 1:
        raise UsageError("--prompt-tokens and --gen-tokens must be >= 2, --trials >= 1")
    if not variants or set(variants) - set(VARIANTS):
        raise UsageError(f"--variants takes letters from {VARIANTS}")
    budgets = [Budget.parse(keep, align) for keep in keeps]  # all refused before any timing
    if preset:  # what the random model cannot run, before its weights are built (or a status)
        shape = preset_config(preset)
        _fits(prompt_tokens + gen_tokens, shape["max_position_embeddings"], prompt_tokens)
        _once(budgets, keeps, shape["intermediate_size"], lambda _: None)
    t0, say = time.perf_counter(), log
    log = lambda s: say(f"[{time.perf_counter() - t0:7.1f}s] {s}")  # noqa: E731
    log(f"building the random-weight {preset} model" if preset else f"loading {model}")
    src, tok, quantized, make_prompt, task = build(model, preset, dtype)
    load_s = time.perf_counter() - t0
    dt = _dtype(src)
    _fits(prompt_tokens + gen_tokens, context_length(src), prompt_tokens)
    prompt = make_prompt(prompt_tokens)
    d = d_ffn(src)
    ks, keeps = _once(budgets, keeps, d, log)
    out = {
        "model": preset and f"random:{preset}" or model,
        "device": str(mx.default_device()),
        "mlx": mx.__version__,
        "blas": blas_status(),
        "dtype": str(dt),
        "prompt_tokens": len(prompt),
        "gen_tokens": gen_tokens,
        "trials": trials,
        "alternating_trials": max(trials, ALTERNATING),  # what interleaved and (h) ran
        "align": align,
        "d_ffn": d,
        "load_s": load_s,
        "source": {**count(src), "decode_bytes": decode_bytes(src)},
        "runs": [],
        "complete": False,  # what on_progress saves along the way is marked partial
    }
    mx.clear_cache()
    out["memory_source"] = (mx.get_active_memory(), rss())
    if "a" in variants:
        log("(a) dense source")
        out["dense"] = run_decode(src, tok, prompt, gen_tokens, trials)
        if on_progress:
            on_progress(out)
    for keep, k in zip(keeps, ks, strict=True):
        q_src = functools.cache(quantized)  # built on first use (after the memory figures)
        log(f"keep {keep}: k = {k} of {d}")
        run = _one_keep(out, src, q_src, tok, prompt, task, k, gen_tokens, trials, variants, log)
        out["runs"].append({"keep": _number(keep), **run})
        mx.clear_cache()
        if on_progress:
            on_progress(out)
    out["complete"] = True
    return out


def interleaved(models: dict, tokenizer, prompt: list[int], gen: int, trials: int) -> dict:
    """Decode tok/s of several models in alternating trials (a, b, c, a, b, c, ...), each a
    ``run_decode`` of one trial; a value that is no model is such a trial's function."""
    runs: dict = {name: [] for name in models}
    for _ in range(max(trials, ALTERNATING)):
        for name, m in models.items():
            one = functools.partial(run_decode, m, tokenizer, prompt, gen)
            runs[name].append((one if isinstance(m, nn.Module) else m)(1))
    return {name: (one := merged(r)) | {"all": one["decode_tps_all"]} for name, r in runs.items()}


def prefill_overhead(pruner, prompt: list[int], trials: int) -> dict:
    """(h) Dense prefill of the prompt alone vs with GRIFFIN selection + slicing on top.

    Both process all the prompt's tokens; their order alternates from trial to trial.
    """
    from ..sources import dense_prefill

    def plain():
        dense_prefill(pruner.model, prompt)

    def fused():
        pruner.cache.clear()
        return pruner.prefill(prompt)[1]

    times: dict = {"plain": [], "fused": []}
    sel, sli = [], []
    for t in range(max(trials, ALTERNATING) + 1):
        order = ("plain", "fused") if t % 2 else ("fused", "plain")
        for name in order:
            mx.clear_cache()
            t0 = time.perf_counter()
            info = plain() if name == "plain" else fused()
            if t:  # trial 0 warms up
                times[name].append(time.perf_counter() - t0)
                if info is not None:
                    sel.append(info.select_s)
                    sli.append(info.slice_s)
    base, both = statistics.median(times["plain"]), statistics.median(times["fused"])
    return {"dense_prefill_s": base, "prefill_select_slice_s": both,
            "select_s": statistics.median(sel), "slice_s": statistics.median(sli),
            "overhead": (both - base) / base, "dense_all": times["plain"],
            "fused_all": times["fused"]}  # fmt: skip


def _one_keep(out, src, q_src, tok, prompt, task, k, gen_tokens, trials, variants, log) -> dict:
    """All slim variants at one kept width ``k``."""
    from ..inference import Pruner

    dt = _dtype(src)
    base_active, base_rss = out["memory_source"]
    run = {"k": k, "variants": {}}
    v, keep = run["variants"], k / d_ffn(src)  # a fraction: a count of 1 would read as 1.0
    pruner, sel, sli = Pruner(src, tok, "griffin", keep), [], []

    def fresh():
        pruner.cache.clear()
        slim, info = pruner.slim_for(task)
        sel.append(info.select_s)
        sli.append(info.slice_s)
        return slim, info

    _, (slim, info) = _timed(fresh, trials, cold=True)
    sel, sli, mask = sel[1:], sli[1:], info.mask  # (not the warm-up's)
    mx.clear_cache()
    c = count(slim)
    run["slim"] = {**c, "decode_bytes": decode_bytes(slim)}
    run["ideal_ratio"] = out["source"]["decode_bytes"] / run["slim"]["decode_bytes"]
    run["memory"] = {
        "active_source_gb": base_active / 1e9,
        "active_with_slim_gb": mx.get_active_memory() / 1e9,
        "slim_ffn_gb": c["ffn_bytes"] / 1e9,
        "rss_source_gb": base_rss and base_rss / 1e9,
        "rss_with_slim_gb": (rss() or 0) / 1e9 or None,
    }
    if "b" in variants:
        log("(b) masked, not sliced")
        dense_mask = mask.dense(dt)
        v["b_masked"] = run_decode(
            src, tok, prompt, gen_tokens, trials, lambda m=dense_mask: masked(src, m)
        )
    if "c" in variants:
        log("(c) slim, materialised")
        v["c_slim"] = {
            "select_s": statistics.median(sel),
            "slice_s": statistics.median(sli),
            "select_all": sel,
            "slice_all": sli,
            **run_decode(slim, tok, prompt, gen_tokens, trials),
        }
    if "d" in variants:
        log("(d) slim from the per-task cache")
        hits, (slim_d, info_d) = _timed(lambda: pruner.slim_for(task), max(trials, 5))
        assert info_d.cache_hit and slim_d is slim
        v["d_cached"] = {
            "hit_s": statistics.median(hits),
            **run_decode(slim_d, tok, prompt, gen_tokens, trials),
        }
    if "e" in variants:
        v.update(_exported(slim, tok, prompt, gen_tokens, trials, log))
    same = None
    if "f" in variants:
        log("(f) random dense model of the slim shape")
        same = same_shape_dense(src, k, dt)
        v["f_same_shape"] = run_decode(same, tok, prompt, gen_tokens, trials)
    if "c" in variants and ("a" in variants or same is not None):
        models = {**({"a": src} if "a" in variants else {}), "c": slim}
        if same is not None:
            models["f"] = same
        log(", ".join(f"({name})" for name in models) + " in alternating trials")
        run["interleaved"] = interleaved(models, tok, prompt, gen_tokens, trials)
    del same
    if "h" in variants:
        log("(h) per-prompt GRIFFIN read off the prompt's dense prefill")
        v["h_prefill"] = prefill_overhead(Pruner(src, tok, "griffin", keep), prompt, trials)
    if "g" in variants:
        log("(g) slim sliced from the 4-bit source")
        qp = Pruner(q_src(), tok, "griffin", keep)  # the float source's width: the same k, mask
        slice_g, (slim_g, _) = _timed(
            lambda: (qp.cache.clear(), qp.slim_from_mask(mask))[1], trials, cold=True
        )  # as (c)'s
        v["g_q4_slim"] = {
            "k": qp.k,
            "slice_s": statistics.median(slice_g),
            "bytes": count(slim_g)["bytes"],
            **run_decode(slim_g, tok, prompt, gen_tokens, trials),
        }
        if "q4_dense" not in out:
            out["q4_dense"] = run_decode(q_src(), tok, prompt, gen_tokens, trials)
        del slim_g, qp
    run["ratios"] = ratios(out, run)
    return run


def _exported(slim, tok, prompt, gen, trials, log) -> dict:
    """(e) export, then plain ``mlx_lm.load`` + ``stream_generate`` and the same folder through
    ``mlx_ifp``'s, in alternating ``run_decode`` trials (both held; a peak: less the other's)."""
    import mlx_lm

    from ..convert import export
    from ..core import cache_dir, origin
    from ..inference import forget, stream_generate
    from ..models import load

    with tempfile.TemporaryDirectory(prefix=".bench-export.", dir=cache_dir()) as tmp:  # not /tmp
        log("(e) exported slim model: mlx_lm and mlx_ifp generate in alternating trials")
        t0 = time.perf_counter()
        cast = origin(slim, required=False).get("cast_from")  # as timed: load's CPU float32
        export(slim, tok, tmp, dtype="float32" if cast else None)
        export_s = time.perf_counter() - t0
        net, tok2 = mlx_lm.load(tmp)
        dtype = str(_dtype(net)).split(".")[-1]  # not load's CPU float32: mlx_lm's, compared
        ifp, tok3 = load(tmp, dtype=dtype)  # its trials: the very token ids of the mlx_lm path
        ours = lambda n: stream_generate(ifp, tok3, prompt, n, keep=1.0, chat_template=False)  # noqa: E731
        both = {"e_mlx_lm": net, "e_mlx_ifp": functools.partial(
            run_decode, ifp, tok3, prompt, gen, stream=ours)}  # fmt: skip
        res = interleaved(both, tok2, prompt, gen, trials)
    forget(ifp)  # its shared pruner: freed now, not at the next garbage collection
    for r, other in zip(res.values(), (ifp, net), strict=True):  # each peak: its model's alone,
        r["peak_gb"] -= count(other)["bytes"] / 1e9  # not the other one held beside it
        del r["all"]  # (its decode_tps_all)
    res["e_mlx_lm"]["export_s"] = export_s
    return res


def ratios(out: dict, run: dict) -> dict:
    """The issue's target ratios for one keep ratio (None where a variant was not run)."""
    v, dense = run["variants"], out.get("dense")
    c, f, e, ei = (v.get(n) for n in ("c_slim", "f_same_shape", "e_mlx_lm", "e_mlx_ifp"))
    r: dict = {"ideal_speedup": run["ideal_ratio"]}
    if c and f:
        r["slim_vs_same_shape"] = c["decode_tps"] / f["decode_tps"]
    if c and dense:
        r["speedup_vs_source"] = c["decode_tps"] / dense["decode_tps"]
        r["speedup_of_ideal"] = r["speedup_vs_source"] / run["ideal_ratio"]
        r["select_slice_of_prefill"] = (c["select_s"] + c["slice_s"]) / dense["prefill_s"]
    il = {name: x["decode_tps"] for name, x in run.get("interleaved", {}).items()}
    if "c" in il and "f" in il:
        r["slim_vs_same_shape_interleaved"] = il["c"] / il["f"]
    if "c" in il and "a" in il:
        r["speedup_interleaved"] = il["c"] / il["a"]
        r["speedup_of_ideal_interleaved"] = r["speedup_interleaved"] / run["ideal_ratio"]
    if "h_prefill" in v:
        r["prefill_select_slice_overhead"] = v["h_prefill"]["overhead"]
    if "d_cached" in v:
        r["cache_hit_ms"] = v["d_cached"]["hit_s"] * 1e3
    if e and ei:
        r["mlx_ifp_vs_mlx_lm"] = ei["decode_tps"] / e["decode_tps"]
    m = run["memory"]
    r["resident_vs_allowed"] = m["active_with_slim_gb"] / (m["active_source_gb"] + m["slim_ffn_gb"])
    return r
