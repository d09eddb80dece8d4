"""llama.cpp's Python bindings against mlx_ifp on one exported GGUF: logits and greedy text.

Exports the embedded model's slim model for a prompt (the default source's mask, its LoRA
fused) with ``mlx_ifp export -p PROMPT --format gguf`` at each ``--gguf-type``, then reads each
file twice:
with llama-cpp-python (``llama_cpp.Llama``, logits of every prompt token) and with
``mlx_ifp.load``. Prints JSON per type: the largest logit difference relative to the largest
logit, the mean KL from MLX's next-token distribution to llama.cpp's and top-1 agreement, over the
chat-templated prompt and MLX's greedy reply (``--tokens``) read by both, and whether llama.cpp's
own greedy reply is the same tokens (or how many it shares before a near tie splits them).

    OPENBLAS_NUM_THREADS=2 python tools/gguf_llamacpp_check.py --gguf-type f16,q8_0,q4_0 \\
        -o docs/results/gguf_bindings/check.json

Needs ``llama_cpp`` (``pip install llama-cpp-python``: an sdist, built from source with a C++
compiler and cmake; not a dependency of the package). Exits 2 with one line if it is missing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import mlx_ifp  # noqa: I001  (before mlx.core: its BLAS)
from mlx_ifp.common import atomic_file

import mlx.core as mx
import numpy as np
from mlx_lm.generate import generate_step


def log_softmax(x: np.ndarray) -> np.ndarray:
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def greedy_llama(llm, ids: list[int], n: int) -> list[int]:
    llm.reset()
    out = []
    for t in llm.generate(ids, temp=0.0, top_k=1, repeat_penalty=1.0):
        if t == llm.token_eos() or len(out) >= n:
            break
        out.append(int(t))
    return out


def greedy_mlx(model, tok, ids: list[int], n: int) -> list[int]:
    out = []
    for t, _ in generate_step(mx.array(ids), model, max_tokens=n):
        if int(t) in tok.eos_token_ids:
            break
        out.append(int(t))
    return out


def check(llama_cpp, path: Path, prompt: str, n: int) -> dict:
    """One GGUF file read by both: the figures described in the module's docstring."""
    model, tok = mlx_ifp.load(str(path))
    ids = tok.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True)
    ids = [int(i) for i in (ids if isinstance(ids, list) else ids["input_ids"])]
    n_ctx = max(512, len(ids) + n + 1)  # the prompt, the reply, and the token past it
    llm = llama_cpp.Llama(str(path), n_ctx=n_ctx, n_threads=2, logits_all=True, verbose=False)
    out_l, out_m = greedy_llama(llm, ids, n), greedy_mlx(model, tok, ids, n)
    seq = ids + out_m  # teacher-forced: the prompt and MLX's greedy reply, read by both
    llm.reset()
    llm.eval(seq)
    got = np.array(llm.scores[: len(seq)], dtype=np.float64)
    want = np.array(model(mx.array([seq]))[0].astype(mx.float32), dtype=np.float64)
    p, q = log_softmax(want), log_softmax(got)
    pairs = zip(out_l, out_m, strict=False)
    same = next((i for i, (a, b) in enumerate(pairs) if a != b), min(len(out_l), len(out_m)))
    return {
        "bytes": path.stat().st_size,
        "prompt_tokens": len(ids),
        "max_rel_logit_diff": float(np.abs(got - want).max() / np.abs(want).max()),
        "kl_mlx_to_llamacpp": float((np.exp(p) * (p - q)).sum(-1).mean()),
        "top1_agreement": float((want.argmax(-1) == got.argmax(-1)).mean()),
        "greedy_same_tokens": out_l == out_m,
        "greedy_common_prefix": same,
        "scored_tokens": len(seq),
        "reply_tokens": [len(out_l), len(out_m)],
        "llama_cpp_text": tok.decode(out_l),
        "mlx_text": tok.decode(out_m),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--gguf-type", default="f16", help="comma-separated: f16, q8_0, q4_0")
    ap.add_argument("--prompt", default="What is the capital of France?")
    ap.add_argument("--keep", default="0.5")
    ap.add_argument("--tokens", type=int, default=40, help="greedy reply tokens compared")
    ap.add_argument("-o", "--output", type=Path, help="write the JSON here")
    args = ap.parse_args()
    if args.tokens < 0:
        print(f"error: --tokens is {args.tokens}: 0 or more", file=sys.stderr)
        return 2
    try:
        import llama_cpp
    except ImportError:
        print("error: needs llama_cpp (pip install llama-cpp-python)", file=sys.stderr)
        return 2
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.gguf_type.split(","):
            path = Path(tmp) / f"slim_{kind}.gguf"
            cmd = [sys.executable, "-m", "mlx_ifp", "export", "-p", args.prompt, "--keep"]
            cmd += [args.keep, "--format", "gguf", "--gguf-type", kind, "-o", str(path)]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode:
                print(f"error: {' '.join(cmd[1:])}: {done.stderr.strip()[-300:]}", file=sys.stderr)
                return 2
            rows[kind] = check(llama_cpp, path, args.prompt, args.tokens)
            print(kind, {k: v for k, v in rows[kind].items() if "text" not in k}, flush=True)
    report = {"prompt": args.prompt, "keep": args.keep, "llama_cpp_python": llama_cpp.__version__,
              "mlx": mx.__version__, "rows": rows}  # fmt: skip
    text = json.dumps(report, indent=1)
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(args.output) as tmp:
            Path(tmp).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
