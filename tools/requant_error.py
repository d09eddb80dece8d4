"""The slim copy's one requantization: KL(slim || masked) on the packed embedded model, as JSON.

A packed down projection is requantized (same bits and group size) only in the slim copy, when
the group size divides k; the masked forward on the packed source has no such rounding. For each
prompt this scores the prompt plus the dense model's greedy reply, teacher-forced, with the same
GRIFFIN mask both ways, and reports mean per-token KL(slim || masked), next to KL(masked || dense)
(what the pruning itself costs) for scale. ``--bits 8`` also scores a slim copy whose down
projections are requantized to 8 bits instead (plugged in through ``slicing.SLICERS``), for
comparison; ``float`` keeps them unquantized (exact).

    OPENBLAS_NUM_THREADS=1 python tools/requant_error.py --keep 0.5 -o requant_error.json
"""

from __future__ import annotations

import argparse
import json

import mlx_ifp
from mlx_ifp.core import ffn, slicing
from mlx_ifp.core.prompt import encode, format_chat, messages_for
from mlx_ifp.models.embedded import embedded_folder

import mlx.core as mx
import mlx.nn as nn

PROMPTS = [
    "What is the capital of France?",
    "Write a Python function that reverses a string.",
    "Explain why the sky is blue in two sentences.",
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips "
    "in May. How many clips did Natalia sell altogether in April and May?",
    "Give three tips for staying healthy.",
]


def kl(p_logits: mx.array, q_logits: mx.array) -> float:
    """Mean over positions of KL(p || q) in nats."""
    lp = nn.log_softmax(p_logits.astype(mx.float32), axis=-1)
    lq = nn.log_softmax(q_logits.astype(mx.float32), axis=-1)
    return float(mx.mean(mx.sum(mx.exp(lp) * (lp - lq), axis=-1)).item())


def slim_with(model: nn.Module, mask, bits: str) -> nn.Module:
    """A slim copy whose packed down projections are requantized to ``bits`` (or kept float)."""

    def cols(m, idx, delta=None):
        w = mx.contiguous(mx.take(slicing.dense_weight(m), idx, axis=1))
        w = w if delta is None else w + delta.astype(w.dtype)
        if bits == "float":
            out = nn.Linear(w.shape[1], w.shape[0], bias=False)
            out.weight = w
            return out
        q = mx.quantize(w, m.group_size, int(bits), mode=m.mode)
        new = nn.QuantizedLinear(
            w.shape[1], w.shape[0], bias=False, group_size=m.group_size, bits=int(bits), mode=m.mode
        )
        new.weight, new.scales, new.biases = q
        return new

    saved = slicing.SLICERS[nn.QuantizedLinear]
    slicing.SLICERS[nn.QuantizedLinear] = (saved[0], cols)
    try:
        return mlx_ifp.prune(model, mask)
    finally:
        slicing.SLICERS[nn.QuantizedLinear] = saved


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--keep", type=float, default=0.5)
    p.add_argument("--reply-tokens", type=int, default=32)
    p.add_argument("--bits", action="append", default=[], help="8, float, ...: also score these.")
    p.add_argument("-o", "--output", default=None, help="Also write the JSON to this file.")
    args = p.parse_args()
    folder = embedded_folder("smollm2-135m-instruct", dequantize=False)
    model, tok = mlx_ifp.load(str(folder), dequantize=False)
    rows = []
    for prompt in PROMPTS:
        text = format_chat(tok, messages_for(prompt))
        reply = mlx_ifp.generate(model, tok, prompt, keep=1.0, max_tokens=args.reply_tokens)
        x = mx.array([encode(tok, text) + tok.encode(reply, add_special_tokens=False)])
        slim, info = mlx_ifp.select(model, tok, prompt, keep=args.keep)
        dense = model(x)
        with ffn.masked(model, info.mask.dense()):
            masked = model(x)
        sl = slim(x)
        down = type(ffn.ffns(slim)[0].down_proj).__name__
        rows.append(
            {
                "prompt": prompt[:40],
                "tokens": x.shape[1],
                "k": info.mask.k,
                "slim_down": down,
                "kl_slim_masked": kl(sl, masked),
                "kl_masked_dense": kl(masked, dense),
                "top1_agree_slim_masked": float(
                    mx.mean(mx.argmax(sl, -1) == mx.argmax(masked, -1)).item()
                ),
                **{
                    f"kl_slim{b}_masked": kl(slim_with(model, info.mask, b)(x), masked)
                    for b in args.bits
                },  # fmt: skip
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    out = {
        "model": "smollm2-135m-instruct (packed: Q4_1 FFN, group size 32)",
        "device": str(mx.default_device()),
        "mlx": mx.__version__,
        "keep": args.keep,
        "mean_kl_slim_masked": sum(r["kl_slim_masked"] for r in rows) / len(rows),
        "mean_kl_masked_dense": sum(r["kl_masked_dense"] for r in rows) / len(rows),
        **{
            f"mean_kl_slim{b}_masked": sum(r[f"kl_slim{b}_masked"] for r in rows) / len(rows)
            for b in args.bits
        },  # fmt: skip
        "rows": rows,
    }
    text = json.dumps(out, indent=2)
    print(text)
    if args.output:
        from mlx_ifp.common import atomic_file

        with atomic_file(args.output) as tmp:
            tmp.write_text(text + "\n")


if __name__ == "__main__":
    main()
