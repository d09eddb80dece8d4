"""``mlx_ifp info`` (versions, backend, BLAS, cache folder and plug-ins) and ``mlx_ifp bench``
(TTFT, decode speed and memory per variant, as JSON, a table and a plot): what this machine
runs, and how fast."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import mlx_ifp

import typer

from .. import UsageError


def _packed_check(result: dict) -> str:
    verdict = "pass" if result["ok"] else "FAIL (load models with --dequantize)"
    return (
        f"{verdict}: quantized_matmul vs dequantize + matmul, max relative error "
        f"{result['max_error']:.1e} ({', '.join(result['cases'])})"
    )


def _shipped() -> str:
    """Each embedded model's shipped predictors (+ LoRA) and the budgets they were trained at."""
    from ..core import read_json
    from ..models import EMBEDDED, shipped_adapters

    out = []
    for name in EMBEDDED:
        cfgs = [read_json(f / "ifp_config.json", "config") for f in shipped_adapters(name)]
        if cfgs:
            keeps = ", ".join(f"keep {c['keep']} ({c['k']} channels)" for c in cfgs)
            out.append(f"{name}: {keeps}")
    return "; ".join(out) or "none"


def _cache(cache_dir) -> str:
    """The cache folder, or why it cannot be used: the row one reads when it is wrong. Not
    made here (an info command writes nothing): the first command that needs it makes it."""
    try:
        path = cache_dir(make=False)
    except UsageError as e:  # no home folder to find it in (no HOME, no user entry)
        return str(e)
    there = next(p for p in (path, *path.parents) if p.exists() or p == p.parent)
    if there.is_dir() and os.access(there, os.W_OK | os.X_OK):
        return str(path) + ("" if there == path else " (not made yet)")
    if there == path and path.is_dir():
        return f"{path} (read-only)"
    why = "not a folder" if there == path else f"{there} is not a folder you can write"
    return (
        f"cannot use the cache folder {path} ({why}): set MLX_IFP_CACHE to a folder you can write"
    )


def _blas_threads(status: str) -> str:
    """OpenBLAS's threads; nothing to set under another BLAS (the variable does nothing)."""
    if not status.startswith("openblas"):
        return f"- (OPENBLAS_NUM_THREADS does nothing under this BLAS: {status.split(' (')[0]})"
    return os.environ.get("OPENBLAS_NUM_THREADS", "library default")


def info_command(
    model: Annotated[
        str | None, typer.Option("--model", help="Also describe this model's FFNs.")
    ] = None,
):
    """Versions, backend, BLAS in use, cache folder and the registered plug-ins."""
    if model is not None and not model.strip():  # `--model "$M"` unset: not "no model"
        raise UsageError("--model is empty: give a model or leave it out")
    import mlx.core as mx
    import mlx_lm

    from ..core import ARCHITECTURES, cache_dir, count
    from ..models import blas_status, export_note, hugepages_status, packed_matmul_check
    from ..sources import SOURCES

    rows = {
        "mlx_ifp": mlx_ifp.__version__,
        "mlx": mx.__version__,
        "mlx-lm": mlx_lm.__version__,
        "device": str(mx.default_device()),
        "blas": blas_status(),
        "blas threads": _blas_threads(blas_status()),
        "huge pages": hugepages_status(),
        "packed matmul check": _packed_check(packed_matmul_check()),
        "cache": _cache(cache_dir),
        "mask sources": ", ".join(SOURCES),
        "architectures": ", ".join(sorted(ARCHITECTURES)) + " (others probed)",
        "shipped predictors": _shipped(),
    }
    if model:
        from .. import load

        net, _ = load(model)
        c = count(net)
        rows["model"] = model
        rows["layers x d_ffn"] = f"{c['layers']} x {c['d_ffn']}"
        rows["parameters"] = f"{c['params'] / 1e6:.1f}M ({c['ffn_params'] / c['params']:.0%} FFN)"
        rows["weight bytes (as loaded)"] = f"{c['bytes'] / 1e6:.1f} MB"  # a GGUF's: unpacked
        if model.lower().endswith(".gguf") and (file := Path(model).expanduser()).is_file():
            rows["file size"] = f"{file.stat().st_size / 1e6:.1f} MB"  # (a folder's: not summed)
        if note := export_note(net):  # an export of a pruned model: as generate says it
            rows["pruned"] = note
    width = max(map(len, rows))
    for key, value in rows.items():
        typer.echo(f"{key:<{width}}  {value}")


def bench_command(
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="A model as `generate` takes it (default smollm2-135m-instruct)."
        ),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(
            "--preset",
            help="Random-weight Llama shape: 135m, 1b, 1.5b (Qwen2.5-Coder-1.5B), 3b or 8b.",
        ),
    ] = None,
    keep: Annotated[
        list[str] | None,
        typer.Option(
            "--keep",
            help="Keep ratio or count (default 0.5); repeat or give a comma-separated list for "
            "a sweep.",
        ),
    ] = None,
    prompt_tokens: Annotated[
        int, typer.Option("--prompt-tokens", "-p", help="Prompt length (llama-bench's -p).")
    ] = 512,
    gen_tokens: Annotated[
        int, typer.Option("--gen-tokens", "-n", help="Tokens to decode (llama-bench's -n).")
    ] = 64,
    trials: Annotated[
        int,
        typer.Option(
            "--trials",
            "-r",
            help="Timed trials per variant, each pass after an untimed warm-up (medians; decode "
            "tok/s ± its std dev); variants compared in alternating trials run at least 3.",
        ),
    ] = 3,
    align: Annotated[int, typer.Option("--align", help="Round k up to a multiple of this.")] = 1,
    variants: Annotated[
        str,
        typer.Option(
            "--variants",
            help="Which to run: a dense source, b masked, c slim, d slim from the task cache, "
            "e exported (mlx_lm and mlx_ifp), f dense of the slim shape, g slim from 4-bit, "
            "h mask read off the dense prefill.",
        ),
    ] = "abcdefgh",
    dtype: Annotated[
        str | None,
        typer.Option(
            "--dtype",
            help="float32, bfloat16 or float16 (default: a --model as generate loads it; a "
            "--preset: float32 on CPU, else bfloat16).",
        ),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the JSON here (default or -: to stdout), rewritten after (a) and each keep "
            'ratio with "complete": false until the run ends (a Ctrl-C leaves the run so far).',
        ),
    ] = None,
    plot_path: Annotated[
        str | None,
        typer.Option("--plot", help="Write the tok/s-vs-keep figure here (PNG, or .svg, .pdf...)."),
    ] = None,
):
    """Benchmark TTFT (selection, slicing, prefill), decode tok/s and memory per variant."""

    from ..bench import VARIANTS, bench, plot, print_tables
    from ..core import Interrupted, atomic_file, check_writable, not_an_input
    from ..evaluation import check_figure

    lists = [[k.strip() for k in v.split(",") if k.strip()] for v in keep or ["0.5"]]
    if not all(lists):  # as eval's: 0.5,0.25 and 0.5, too; `--keep ,` alone is refused
        raise UsageError(f"no keep ratio given in --keep {keep[lists.index([])]!r}")
    keep = [k for ks in lists for k in ks]
    # "$M" unset: not "default" (and `--plot "$P"` unset: not "no plot", silently)
    for flag, value in (("--model", model), ("--preset", preset), ("--plot", plot_path)):
        if value is not None and not value.strip():
            raise UsageError(f"{flag} is empty: give a value or leave it out")
    if preset and model is not None:  # it would be ignored: the preset is a random model
        raise UsageError("--preset benchmarks a random model: give it or --model, not both")
    model = model or "smollm2-135m-instruct"
    output = None if output == "-" else output  # `-o - | jq`: was a file named "-"
    if output is not None and not output.strip():
        raise UsageError("--output is empty: give a path or leave it out")
    if output and output.strip().lower() in ("csv", "json", "jsonl", "md", "sql"):
        raise UsageError(
            f"-o is the file the JSON is written to, not llama-bench's format: "
            f"leave -o out for the JSON on stdout, or name a file ({output}.json)"
        )
    if output:
        check_writable(output)
        not_an_input(output, None if preset else model)  # a model folder's or .gguf's own file
    if plot_path:
        check_figure(plot_path)  # matplotlib and the format too, not after the whole run
        if output and Path(output).resolve() == Path(plot_path).resolve():
            raise UsageError("-o and --plot name the same file: give each its own")
    if prompt_tokens < 2 or gen_tokens < 2 or trials < 1:
        raise UsageError("--prompt-tokens and --gen-tokens must be >= 2, --trials >= 1")
    if not variants or set(variants) - set(VARIANTS):
        raise UsageError(f"--variants takes letters from {VARIANTS}")
    if plot_path and set(variants) == {"h"}:  # (h) times the prefill: no decode speed to draw
        raise UsageError("--plot draws decode tok/s, which --variants h does not measure: add "
                         "a variant from abcdefg")  # fmt: skip

    saved = []

    def save(result: dict) -> None:
        if output:
            with atomic_file(output) as tmp:
                Path(tmp).write_text(json.dumps(result, indent=2))
            saved.append(len(result["runs"]))

    try:
        result = bench(
            model, preset, tuple(keep), prompt_tokens, gen_tokens, trials, align, variants, dtype,
            log=lambda s: print(s, file=sys.stderr, flush=True), on_progress=save,
        )  # fmt: skip
    except KeyboardInterrupt:  # what was saved, and that it replaced the file's earlier content
        if not saved:
            raise
        raise Interrupted(
            f'interrupted: {output} holds the run so far ("complete": false, its "runs": '
            f"{saved[-1]} keep ratio(s) done)"
        ) from None
    save(result)
    if not output:
        print(json.dumps(result, indent=2))
    print_tables(result, stderr=not output)  # stdout: the JSON alone (`bench > run.json`)
    if plot_path:
        plot(result, plot_path)
    return result
