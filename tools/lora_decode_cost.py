"""Decode tok/s of the default slim model, LoRA unfused and fused, vs GRIFFIN's slim model.

The default slim model before (LoRA unfused) and after (fused) vs GRIFFIN's slim model of the
same width, alternating trials, median; plus the KL of the fused slim model from the unfused one
over a few prompts' tokens, and each model's parameter count.

    OPENBLAS_NUM_THREADS=1 python tools/lora_decode_cost.py [--packed] [--attention]

The model is loaded as ``mlx_ifp.load`` does by default (float32 on CPU), or packed (4-bit,
``--packed``). ``--attention`` adds rows for each way of holding the fused attention LoRA
(float, 8-bit, 4-bit, unfused): what ``inference.pruner.FUSED_LORA_BITS`` was chosen from;
it matters only where attention is packed.
"""

import argparse
import copy
import json
import time
from functools import partial

import mlx_ifp  # noqa: I001  (before mlx_lm: it loads the optimized BLAS)
from mlx_ifp.core import ffn, slicing
from mlx_ifp.core.prompt import turn_tokens
from mlx_ifp.train.objective import kl_to

import mlx.core as mx
import mlx_lm

PROMPTS = [
    "Write a short story about a lighthouse keeper.",
    "Explain how a refrigerator keeps food cold, in three sentences.",
    "List four tips for learning a new language.",
]


def _rows(m, idx, delta=None):
    new = copy.copy(m)
    new.linear, new.lora_b = slicing.slice_rows(m.linear, idx), m.lora_b[:, idx]
    return new


def _cols(m, idx, delta=None):
    new = copy.copy(m)
    new.linear, new.lora_a = slicing.slice_cols(m.linear, idx), m.lora_a[idx]
    return new


def unfused(model, mask):
    """The slim model as built before fusing: LoRA layers sliced and kept, attention's too."""
    saved, slicing.LORA = slicing.LORA, (_rows, _cols)
    try:
        return mlx_ifp.prune(model, mask)
    finally:
        slicing.LORA = saved


def kl(p_net, q_net, tokens) -> tuple[float, float]:
    """Mean KL(p || q) of next-token distributions over ``tokens``, and top-1 agreement."""
    x = mx.array(tokens)[None]
    p, q = p_net(x), q_net(x)
    agree = mx.mean(mx.argmax(p, -1) == mx.argmax(q, -1))
    return float(kl_to(p, q).mean().item()), float(agree.item())


def decode_tps(net, prompt: list[int], n: int) -> float:
    """Tokens per second over ``n`` decoded tokens, the end token ignored (a reply that ends at
    once would time one token: mlx_lm.stream_generate stops there)."""
    from mlx_lm.generate import generate_step

    steps = generate_step(mx.array(prompt), net, max_tokens=n)
    next(steps)  # the prompt and the first token: decoding is timed from here
    t0 = time.perf_counter()
    rest = sum(1 for _ in steps)
    return rest / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--attention", action="store_true", help="compare attention fusings too")
    ap.add_argument("--packed", action="store_true", help="keep the 4-bit weights packed")
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=48)
    args = ap.parse_args()
    m, tok = mlx_ifp.load("smollm2-135m-instruct", dequantize=not args.packed)
    pruner = mlx_ifp.Pruner(m, tok, keep=0.5)  # the default: shipped predictor + LoRA
    adapted = pruner.model
    # each variant: mask -> slim model; the same shipped mask for all of them
    variants = {
        "ifp before (LoRA unfused)": lambda mask: unfused(adapted, mask),
        "ifp after (LoRA fused)": lambda mask: mlx_ifp.prune(pruner.slim_base, mask),
    }
    if args.attention:  # FFN fused in every row; attention LoRA held each way
        for bits in (None, 8, 4):
            base = slicing.lora_fused_base(adapted, bits)
            variants[f"attn fused {bits or 'float'}"] = partial(mlx_ifp.prune, base)
        variants["attn unfused"] = partial(mlx_ifp.prune, adapted)
    p = PROMPTS[0]
    mask = mlx_ifp.select(m, tok, p, pruner=pruner)[1].mask
    rows = {k: make(mask) for k, make in variants.items()}
    rows["griffin slim"] = mlx_ifp.select(m, tok, p, keep=0.5, mask_source="griffin")[0]
    tps = {k: [] for k in rows}
    for _ in range(args.trials):
        for k, net in rows.items():
            tps[k].append(decode_tps(net, turn_tokens(tok, p), args.tokens))
    # fidelity: each prompt's own mask, over its tokens and the unfused model's continuation
    fid = {k: [] for k in variants}
    for q in PROMPTS:
        qmask = mlx_ifp.select(m, tok, q, pruner=pruner)[1].mask
        ref = unfused(adapted, qmask)
        toks = turn_tokens(tok, q)
        toks += [r.token for r in mlx_lm.stream_generate(ref, tok, toks, max_tokens=32)]
        for k, make in variants.items():
            fid[k].append(kl(ref, make(qmask), toks))
    out = {}
    for k, net in rows.items():
        c = ffn.count(net)
        out[k] = {"tok_s": sorted(tps[k])[len(tps[k]) // 2], "params": c["params"]}
        out[k]["mb"] = round(c["bytes"] / 2**20, 1)
        if fid.get(k):
            out[k]["kl"] = sum(d for d, _ in fid[k]) / len(fid[k])
            out[k]["top1"] = sum(a for _, a in fid[k]) / len(fid[k])
    print(json.dumps(out))
    print(f"{'model':32} {'tok/s':>6} {'params':>11} {'MiB':>6} {'KL vs before':>12} {'top-1':>6}")
    for k, v in out.items():
        kls = f"{v['kl']:.2e}" if "kl" in v else "-"
        top = f"{v['top1']:.3f}" if "top1" in v else "-"
        print(f"{k:32} {v['tok_s']:6.2f} {v['params']:11,d} {v['mb']:6.1f} {kls:>12} {top:>6}")


if __name__ == "__main__":
    main()
