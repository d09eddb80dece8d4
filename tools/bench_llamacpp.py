"""llama.cpp decode speed of a slim GGUF export vs the dense one (same quant type), alternating.

Exports the embedded model twice with the package's GGUF exporter (dense: the unpruned model;
slim: the default mask source's mask for a fixed task at ``--keep``), then runs llama.cpp's own
``llama-bench`` on each in turn (ABBA order: dense, slim, slim, dense, ...; ``-p 0 -n TOKENS``,
decode only) and prints JSON (per-trial tok/s, medians, slim/dense ratio, file bytes, llama.cpp
build, machine) plus a table.

    OPENBLAS_NUM_THREADS=1 python tools/bench_llamacpp.py --llama-bench PATH/llama-bench \\
        --gguf-type q4_0 --keep 0.5 --trials 5 --tokens 64 -o docs/results/llamacpp_bench.json

Build ``llama-bench`` (CPU only) from llama.cpp's source, e.g. the copy vendored in the
llama-cpp-python sdist (``vendor/llama.cpp``): README.md, "llama.cpp: slim GGUF vs dense GGUF".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TASK = "Answer questions about geography and history in one short sentence."
BUILD_HINT = (
    "cmake -S llama.cpp -B build -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON "
    "-DLLAMA_CURL=OFF && cmake --build build --target llama-bench -j2"
)


def find_llama_bench(given: str | None) -> str | None:
    """The llama-bench executable: ``given``, else $LLAMA_BENCH, else ``llama-bench`` on PATH."""
    name = given or os.environ.get("LLAMA_BENCH") or "llama-bench"
    path = shutil.which(name)
    return path if path and os.access(path, os.X_OK) else None


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def export_pair(args, folder: Path) -> tuple[dict[str, Path], dict]:
    """Write dense and slim GGUF files of ``args.model`` into ``folder``; (paths, mask facts)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import mlx_ifp
    from mlx_ifp.convert import export_gguf

    # GGUF is written from float weights, as `mlx_ifp export --format gguf` loads them
    model, tok = mlx_ifp.load(args.model, dequantize=True)
    slim, info = mlx_ifp.select(
        model, tok, task=args.task, keep=args.keep, mask_source=args.mask_source
    )
    t = args.gguf_type
    t0 = time.perf_counter()
    dense = export_gguf(model, tok, folder / f"dense-{t}.gguf", t)
    slim_path = export_gguf(slim, tok, folder / f"slim-{t}.gguf", t, mask=info.mask)
    mask = info.mask
    facts = {
        "mask_source": mask.source,
        "k": mask.k,
        "d_ffn": mask.d_ffn,
        "mask_digest": mask.digest(),
        "export_s": round(time.perf_counter() - t0, 1),
    }
    return {"dense": dense, "slim": slim_path}, facts


def bench_once(binary: str, path: Path, args) -> dict:
    """One llama-bench run (decode only) of one file; its JSON record."""
    cmd = [binary, "-m", str(path), "-p", "0", "-n", str(args.tokens), "-r", str(args.reps)]
    cmd += ["-t", str(args.threads), "-o", "json"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        tail = "\n".join(out.stderr.strip().splitlines()[-15:])
        raise SystemExit(f"llama-bench failed on {path.name} (exit {out.returncode}):\n{tail}")
    records = json.loads(out.stdout)
    if len(records) != 1:
        raise SystemExit(f"llama-bench gave {len(records)} records for {path.name}, expected 1")
    return records[0]


def run_trials(binary: str, files: dict[str, Path], args) -> tuple[dict, dict, list, dict]:
    """Alternate the files (ABBA), ``args.trials`` runs each: tok/s, samples, order, a record."""
    rates: dict[str, list[float]] = {k: [] for k in files}
    samples: dict[str, list[list[float]]] = {k: [] for k in files}
    order, first = [], None
    for trial in range(args.trials):
        pair = ["dense", "slim"] if trial % 2 == 0 else ["slim", "dense"]
        for k in pair:
            rec = bench_once(binary, files[k], args)
            first = first or rec
            rates[k].append(round(float(rec["avg_ts"]), 2))
            samples[k].append([round(float(x), 2) for x in rec.get("samples_ts", [])])
            order.append(k)
            print(
                f"trial {trial + 1}/{args.trials} {k:5} {rates[k][-1]:8.2f} tok/s", file=sys.stderr
            )
    return rates, samples, order, first


def print_table(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"llama.cpp decode, {result['model']} {result['gguf_type']}, keep {result['keep']} "
        f"({result['tokens']} tokens, {result['threads']} threads, {result['trials']} trials)"
    )
    for col in ("model", "FFN width", "file MB", "median tok/s", "trials (tok/s)"):
        table.add_column(col, justify="right")
    for k in ("dense", "slim"):
        width = result["d_ffn"] if k == "dense" else result["k"]
        trials = " ".join(f"{r:.1f}" for r in result["tok_s"][k])
        mb = result["file_bytes"][k] / 1e6
        table.add_row(k, str(width), f"{mb:.1f}", f"{result['median_tok_s'][k]:.1f}", trials)
    table.add_row(
        "slim/dense",
        f"{result['k'] / result['d_ffn']:.2f}",
        f"{result['bytes_ratio']:.2f}x",
        f"{result['speedup']:.2f}x",
        "",
    )
    Console(stderr=True).print(table)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--llama-bench", default=None, help="default: $LLAMA_BENCH, else llama-bench on PATH"
    )
    p.add_argument("--model", default="smollm2-135m-instruct")
    p.add_argument("--keep", type=float, default=0.5)
    p.add_argument("--gguf-type", default="q4_0", choices=("f16", "q8_0", "q4_0"))
    p.add_argument("--task", default=TASK, help="the task text the slim model is selected for")
    p.add_argument(
        "--mask-source", default=None, help="default: the package's (the shipped predictor)"
    )
    p.add_argument("--trials", type=int, default=5, help="llama-bench runs per model, alternating")
    p.add_argument("--tokens", type=int, default=64, help="generated tokens per run (-n)")
    p.add_argument("--reps", type=int, default=1, help="llama-bench repetitions per run (-r)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--dir", default=None, help="keep the GGUF files here (default: a temp dir)")
    p.add_argument("-o", "--output", default=None, help="also write the JSON here")
    args = p.parse_args()

    binary = find_llama_bench(args.llama_bench)
    if binary is None:
        given = args.llama_bench or os.environ.get("LLAMA_BENCH") or "llama-bench"
        print(
            f"Error: llama-bench not found ({given}); build it from llama.cpp's source "
            f"({BUILD_HINT}) and pass --llama-bench PATH",
            file=sys.stderr,
        )
        raise SystemExit(2)

    with tempfile.TemporaryDirectory(prefix="bench_llamacpp_") as tmp:
        folder = Path(args.dir or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        files, facts = export_pair(args, folder)
        load_before = os.getloadavg()
        t0 = time.perf_counter()
        rates, samples, order, rec = run_trials(binary, files, args)
        wall = time.perf_counter() - t0
        size = {k: f.stat().st_size for k, f in files.items()}

    med = {k: statistics.median(v) for k, v in rates.items()}
    result = {
        "model": args.model,
        "gguf_type": args.gguf_type,
        "keep": args.keep,
        "task": args.task,
        **facts,
        "tokens": args.tokens,
        "reps": args.reps,
        "trials": args.trials,
        "threads": args.threads,
        "order": order,
        "tok_s": rates,
        "samples_tok_s": samples,
        "median_tok_s": med,
        "speedup": round(med["slim"] / med["dense"], 3),
        "file_bytes": size,
        "bytes_ratio": round(size["dense"] / size["slim"], 3),
        "llama_cpp": {
            "build_commit": rec.get("build_commit"),
            "build_number": rec.get("build_number"),
            "backends": rec.get("backends"),
            "cpu_info": rec.get("cpu_info"),
            "binary": binary,
        },
        "machine": {
            "platform": platform.platform(),
            "cpu": cpu_name(),
            "cpu_count": os.cpu_count(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        },
        "bench_wall_s": round(wall, 1),
        "command": " ".join(["python", "tools/bench_llamacpp.py", *sys.argv[1:]]),
    }
    text = json.dumps(result, indent=1)
    print(text)
    print_table(result)
    if args.output:
        from mlx_ifp.common import atomic_file

        with atomic_file(args.output) as tmp_out:
            tmp_out.write_text(text + "\n")


if __name__ == "__main__":
    main()
