"""llama.cpp decode speed, slim GGUF vs dense GGUF (same quant type), alternating trials."""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import mlx_ifp
from mlx_ifp.convert.gguf_file import export_gguf

TASK = "Answer questions about geography and history in one short sentence."
PROMPT = "What is the capital of France? Tell me about its history."


def decode_rate(llm, prompt_tokens: list[int], n: int) -> tuple[float, float]:
    """(prefill seconds, decode tokens/s) for ``n`` greedy tokens after the prompt."""
    llm.reset()
    t0 = time.perf_counter()
    gen = llm.generate(prompt_tokens, top_k=1, top_p=1.0, temp=0.0, reset=True)
    next(gen)  # prefill + the first token
    t1 = time.perf_counter()
    for _ in range(n - 1):
        next(gen)
    t2 = time.perf_counter()
    gen.close()
    return t1 - t0, (n - 1) / (t2 - t1)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--keep", type=float, default=0.5)
    ap.add_argument("--gguf-type", default="q8_0", choices=("f16", "q8_0", "q4_0"))
    ap.add_argument("--mask-source", default="griffin")
    ap.add_argument("--tokens", type=int, default=128, help="decoded tokens per trial")
    ap.add_argument("--trials", type=int, default=6, help="trials per model, alternating")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dir", default=None, help="keep the GGUF files here (default: temporary)")
    ap.add_argument("--out", default=None, help="write the JSON result here")
    args = ap.parse_args()
    try:
        from llama_cpp import Llama
        from llama_cpp import __version__ as llama_cpp_version
    except ImportError:
        raise SystemExit(
            "needs llama.cpp's Python bindings: pip install llama-cpp-python"
        ) from None

    model, tok = mlx_ifp.load(args.model)
    slim, info = mlx_ifp.select(model, tok, task=TASK, keep=args.keep, mask_source=args.mask_source)
    folder = Path(args.dir or tempfile.mkdtemp(prefix="bench_llamacpp_"))
    files = {
        "dense": export_gguf(model, tok, folder / f"dense-{args.gguf_type}.gguf", args.gguf_type),
        "slim": export_gguf(slim, tok, folder / f"slim-{args.gguf_type}.gguf", args.gguf_type,
                            mask=info.mask),
    }  # fmt: skip
    llms = {k: Llama(str(p), n_ctx=512, n_threads=args.threads, n_threads_batch=args.threads,
                     verbose=False, seed=0) for k, p in files.items()}  # fmt: skip
    prompt = tok.apply_chat_template([{"role": "user", "content": PROMPT}],
                                     add_generation_prompt=True, tokenize=False)  # fmt: skip
    ids = llms["dense"].tokenize(prompt.encode(), add_bos=False, special=True)
    for llm in llms.values():  # warm-up
        decode_rate(llm, ids, 8)
    rates = {k: [] for k in llms}
    for trial in range(args.trials):
        order = ["dense", "slim"] if trial % 2 == 0 else ["slim", "dense"]
        for k in order:
            rates[k].append(decode_rate(llms[k], ids, args.tokens)[1])
    med = {k: statistics.median(v) for k, v in rates.items()}
    size = {k: Path(p).stat().st_size for k, p in files.items()}
    result = {
        "model": args.model, "keep": args.keep, "k": info.mask.k, "d_ffn": info.mask.d_ffn,
        "gguf_type": args.gguf_type, "mask_source": args.mask_source, "task": TASK,
        "tokens": args.tokens, "trials": args.trials, "threads": args.threads,
        "llama_cpp_python": llama_cpp_version, "machine": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "file_bytes": size, "bytes_ratio": size["dense"] / size["slim"],
        "decode_tok_s": rates, "median_tok_s": med, "speedup": med["slim"] / med["dense"],
        "command": "python tools/bench_llamacpp.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v is not None),
    }  # fmt: skip
    print(f"{'model':6} {'file MB':>8} {'median tok/s':>13}  trials")
    for k in llms:
        trials = " ".join(f"{r:.1f}" for r in rates[k])
        print(f"{k:6} {size[k] / 1e6:8.1f} {med[k]:13.1f}  {trials}")
    print(f"speedup slim/dense {result['speedup']:.2f}x, bytes ratio {result['bytes_ratio']:.2f}x")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
