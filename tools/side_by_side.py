r"""Side-by-side greedy generations for a few held-out prompts, as Markdown.

The dense model, the shipped trained predictor (with its LoRA), the learned static control
(``--static``, a tools/train_default.sh run folder) and GRIFFIN, at the same keep.

    python tools/side_by_side.py -n 10 --keep 0.5 --static runs/default/k0.5-static/stage2 \
        -o docs/side_by_side.md
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=10, help="prompts (taken from the test splits in turn)")
    p.add_argument("--keep", default="0.5")
    p.add_argument("--max-tokens", type=int, default=60)
    p.add_argument("--model", default="smollm2-135m-instruct")
    p.add_argument("--data", help="corpus folder (default: the cached build)")
    p.add_argument("--static", help="learned static + LoRA run folder (the fair control)")
    p.add_argument("-o", "--output", required=True, help="Markdown file to write")
    a = p.parse_args()
    import mlx_ifp
    from mlx_ifp.common import atomic_file
    from mlx_ifp.data import DOMAINS, cached_build
    from mlx_ifp.evaluation.run import instructions

    data = a.data or str(cached_build())
    queues = [instructions(data, d) for d in DOMAINS]
    prompts = [queues[i % len(DOMAINS)][i // len(DOMAINS)]["prompt"] for i in range(a.n)]
    base, tok = mlx_ifp.load(a.model)
    tuned, _ = mlx_ifp.load(a.model, adapter_path="default")
    rows = {
        "dense": (base, mlx_ifp.Pruner(base, tok, source="full", keep=1.0)),
        f"IFP (shipped predictor + LoRA), keep {a.keep}": (
            tuned,
            mlx_ifp.Pruner(tuned, tok, source="predictor", keep=a.keep),
        ),
    }
    if a.static:
        control, _ = mlx_ifp.load(a.model, adapter_path=a.static)
        pruner = mlx_ifp.Pruner(control, tok, source="predictor", keep=a.keep)
        rows[f"learned static + the same LoRA, keep {a.keep}"] = (control, pruner)
    griffin = mlx_ifp.Pruner(base, tok, source="griffin", keep=a.keep)
    rows[f"GRIFFIN, keep {a.keep}"] = (base, griffin)
    extra = ""  # the flags that ran, beyond -n and --keep: the file says how to remake it
    for flag in ("--max-tokens", "--model", "--data", "--static"):
        name = flag[2:].replace("-", "_")
        if getattr(a, name) != p.get_default(name):
            extra += f" {flag} {getattr(a, name)}"
    command = f"python tools/side_by_side.py -n {a.n} --keep {a.keep}{extra} -o {a.output}"
    lines = [f"# Side by side, greedy, {a.max_tokens} tokens ({a.model})", "", f"`{command}`", ""]
    for i, prompt in enumerate(prompts, 1):
        short = " ".join(prompt.split())[:300]
        lines += [f"## {i}. {DOMAINS[(i - 1) % len(DOMAINS)]}", "", f"> {short}", ""]
        for name, (model, pruner) in rows.items():
            text = mlx_ifp.generate(model, tok, prompt, max_tokens=a.max_tokens, pruner=pruner)
            lines += [f"**{name}:** {' '.join(text.split())}", ""]
        print(f"{i}/{len(prompts)}", flush=True)
    with atomic_file(a.output) as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n")
    print(f"Wrote {a.output}")


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).parent))  # its folder's eval_ifp.py
    from eval_ifp import exit_2_on_usage_error

    exit_2_on_usage_error(main)
