"""Greedy replies of the source model with and without a trained run's LoRA, both unpruned.

Does the LoRA itself lose what the source knows?

    python tools/lora_unpruned.py -p "What is the capital of France?"
    python tools/lora_unpruned.py --adapter runs/k0.5-static/stage2 -p "..." -o reply.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import mlx_ifp  # first: the optimized BLAS before mlx.core


def main() -> None:
    shipped = Path(mlx_ifp.__file__).parent / "weights" / "smollm2-135m-instruct"
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-p", "--prompt", action="append", required=True, help="repeatable")
    p.add_argument("--model", default="smollm2-135m-instruct")
    p.add_argument("--adapter", default=str(shipped), help="a finetune output or shipped folder")
    p.add_argument("-m", "--max-tokens", type=int, default=40)
    p.add_argument("-o", "--output", help="also write the replies as JSON here")
    a = p.parse_args()

    from mlx_ifp.common import atomic_file
    from mlx_ifp.models.resolve import adapted_copy

    from mlx_lm import generate

    model, tok = mlx_ifp.load(a.model)
    nets = {"source": model, "source + LoRA, unpruned": adapted_copy(model, a.adapter)}
    out = []
    for prompt in a.prompt:
        msgs = [{"role": "user", "content": prompt}]
        text = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        row = {"prompt": prompt}
        for name, net in nets.items():
            row[name] = generate(net, tok, text, max_tokens=a.max_tokens)
            print(f"{name}: {row[name]!r}")
        out.append(row)
    if a.output:
        with atomic_file(a.output) as tmp:  # never a half-written file
            tmp.write_text(json.dumps({"adapter": a.adapter, "replies": out}, indent=1))


if __name__ == "__main__":
    main()
