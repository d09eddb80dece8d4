"""``mlx_ifp data build`` (the offline multi-domain corpus), ``mlx_ifp eval`` (mask sources
scored per domain on the held-out test splits) and ``mlx_ifp plot`` (mask-overlap heatmaps and
quality-vs-active-parameters plots from the corpus and an eval report)."""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import mlx_ifp

import typer

from .. import UsageError
from ..common import atomic_file, check_writable, not_an_input, read_json

CACHED = "default: build or reuse the cached one"  # the corpus a --data left out reads


def csv(value: str, allowed=None, what: str = "value") -> tuple:
    """Comma-separated items, each checked against ``allowed`` (a flag repeated: all its lists)."""
    if not isinstance(value, str):  # each list its own: `--keep 0.5 --keep ,` is refused
        return tuple(dict.fromkeys(item for v in value for item in csv(v, allowed, what)))
    items = tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))  # once each
    bad = [v for v in items if allowed is not None and v not in allowed]
    if not items and allowed is None:
        raise UsageError(f"no {what} given in {value!r}")
    if not items or bad:
        raise UsageError(
            f"unknown {what} {', '.join(map(repr, bad)) or repr(value)} "
            f"(choose from {', '.join(allowed or [])})"
        )
    return items


def named_paths(specs: list[str] | None, flag: str) -> dict:
    """``NAME=PATH`` options as a dict."""
    out = {}
    for spec in specs or []:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise UsageError(f"{flag} takes NAME=PATH, got {spec!r}")
        if name in out:
            raise UsageError(f"{flag} gives the name {name!r} twice")
        out[name] = path
    return out


def given_output(output: str | None) -> str | None:
    """``-o``: ``""`` (``-o "$OUT"`` unset) is refused, not read as no output; ``~`` expanded."""
    if output is not None and not output.strip():
        raise UsageError("--output is empty: give a path or leave it out")
    return None if output is None else os.path.expanduser(output)  # `-o q.png/`: a folder


def corpus_folder(data: str | None) -> str | None:
    """``--data``: refused in one line when no folder is there (it was "no test items")."""
    if data and not Path(data).expanduser().is_dir():
        what = "is a file, not a folder" if Path(data).expanduser().exists() else "does not exist"
        raise UsageError(f"--data {data}: the corpus folder {what}")
    return data


def data_build_command(
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="Folder to write (default: a cache folder keyed by the settings).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the train/valid/test splits.")] = 0,
    max_stdlib: Annotated[int, typer.Option(help="Standard-library functions to use.")] = 3000,
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even if cached (and redo --distill's replies).")
    ] = False,
    distill_n: Annotated[
        int,
        typer.Option(
            "--distill",
            help="Also have the dense model answer "
            "this many training prompts (self-distillation; slow on CPU).",
        ),
    ] = 0,
    model: Annotated[
        str | None,
        typer.Option("--model", help="Model for --distill (default smollm2-135m-instruct)."),
    ] = None,
):
    """Build the multi-domain corpus (math, code, science, prose, general) offline, split by a seed.

    Into the cache (~/.cache/mlx_ifp/data, or $MLX_IFP_CACHE/data) or -o; prints the folder.
    finetune --data takes FOLDER/sft ({"prompt","completion"}), FOLDER/chat or FOLDER/pretrain.
    e.g. mlx_ifp finetune --data "$(mlx_ifp data build)/sft" -o run"""
    from ..data import BuildConfig, build, distill, distilled

    if distill_n < 0:
        raise UsageError(f"--distill must be 0 (none) or more prompts, got {distill_n}")
    if model is not None and not distill_n:  # it was ignored: the corpus is model-free
        raise UsageError("--model is the model --distill answers with: give --distill N too")
    model = "smollm2-135m-instruct" if model is None else model  # "" is refused below
    output = given_output(output)
    if distill_n > 0:
        mlx_ifp.check_model(model)  # before a build of minutes
    path = build(output, BuildConfig(seed=seed, max_stdlib=max_stdlib), force=force)
    if distill_n > 0:  # replies there already: reused if of these settings, else refused
        done = None if force else distilled(path, distill_n, model)  # (before the load)
        if done is None:
            check_writable(path / "distill" / "train.jsonl")  # before the load (distill too)
            net, tokenizer = mlx_ifp.load(model)
            done = distill(path, net, tokenizer, distill_n, model, seed=seed, force=force)
        typer.echo(str(done))
    typer.echo(str(path))


def eval_command(
    model: Annotated[str, typer.Option("--model", help="Name, .gguf, folder or HF repo id.")] = (
        "smollm2-135m-instruct"
    ),
    data: Annotated[str | None, typer.Option("--data", help=f"Corpus folder ({CACHED}).")] = None,
    domains: Annotated[
        list[str] | None,
        typer.Option(
            help="Comma-separated domains, each must be in the corpus (default: every domain of "
            "math,code,science,prose,general that it has; a warning names those it lacks)."
        ),
    ] = None,
    sources: Annotated[
        list[str],
        typer.Option(
            "--mask-sources", help="Comma-separated mask sources (full is the dense model)."
        ),
    ] = ("full,random,static,static-act,griffin",),
    keep: Annotated[
        list[str], typer.Option("--keep", help="Comma-separated keep ratios or channel counts.")
    ] = ("0.5,0.33",),
    modes: Annotated[list[str], typer.Option(help="input, task or both.")] = ("input,task",),
    mask: Annotated[
        list[str] | None,
        typer.Option(
            "--mask",
            help="Also evaluate a saved mask "
            "file as NAME=PATH (e.g. a learned static mask); repeatable.",
        ),
    ] = None,
    adapter: Annotated[
        list[str] | None,
        typer.Option(
            "--adapter",
            help="Also evaluate a `finetune` output folder as NAME=DIR: its predictor at the "
            "budget it was trained for, on a copy of the model with the folder's LoRA or full "
            "weights (if any) applied; NAME=default: the embedded model's shipped predictor; "
            "repeatable.",
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Test items per domain.")] = 16,
    gen_limit: Annotated[
        int,
        typer.Option(
            help="Of the --limit items per domain, how many GSM8K / HumanEval ones are also "
            "answered by generation and scored (0: skip generation)."
        ),
    ] = 4,
    batch_size: Annotated[
        int, typer.Option(help="Sequences per forward pass, when scoring and when generating.")
    ] = 8,
    timeout: Annotated[float, typer.Option(help="Seconds per HumanEval program.")] = 5.0,
    max_len: Annotated[int, typer.Option(help="Tokens per prompt + reference (truncated).")] = 384,
    max_tokens: Annotated[int, typer.Option(help="Tokens to generate per reply.")] = 256,
    prefill: Annotated[
        str,
        typer.Option(
            help="slim: the whole sequence pruned; dense: prompt positions unmasked, as "
            "after `generate --prefill dense` (scores only; replies are generated slim)."
        ),
    ] = "slim",
    repick: Annotated[
        int | None,
        typer.Option(
            "--repick",
            metavar="N",
            help="Score per-input rows as generation that re-picks the mask every N reply tokens "
            "(from the prompt and the reference reply so far; replies generated so too); 0: one "
            "mask from the prompt. Default: as generate, 16 for a predictor reading GRIFFIN "
            "statistics (the shipped one), else 0. Per-task, static and --mask rows: one mask.",
        ),
    ] = None,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write the JSON here (-: stdout).")
    ] = None,
):
    """Evaluate mask sources per domain: perplexity, KL and top-1 vs dense, GSM8K, HumanEval.
    A comma-separated list flag may also be repeated: --keep 0.5 --keep 0.25."""
    from rich.console import Console

    from ..data import DOMAINS, build
    from ..evaluation import (
        MODES,
        EvalConfig,
        adapter_folder,
        built_domains,
        check_adapter,
        check_mask_files,
        check_repick,
        check_rows,
        evaluate,
        keep_channels,
        table,
    )

    if limit is not None and limit < 1:
        raise UsageError("--limit must be at least 1")
    for flag, value, low in (("--batch-size", batch_size, 1), ("--max-tokens", max_tokens, 1),
                             ("--gen-limit", gen_limit, 0), ("--max-len", max_len, 2)):  # fmt: skip
        if value < low:
            raise UsageError(f"{flag} must be at least {low}, got {value}")
    if not 0 < timeout <= 86400:  # NaN too
        raise UsageError(f"--timeout must be seconds in (0, 86400], got {timeout}")
    if prefill not in ("slim", "dense"):
        raise UsageError(f"--prefill is slim or dense, not {prefill!r}")
    files = named_paths(mask, "--mask")
    output = None if output == "-" else given_output(output)  # `-o - | jq`: was a file "-"
    modes = csv(modes, (*MODES, "both"), "mode")  # (a str: the Python call's text, as before)
    cfg = EvalConfig(
        domains=None if domains is None else csv(domains, DOMAINS, "domain"),
        sources=csv(sources, None, "mask source"),
        keeps=tuple(  # once each: 0.5 and .5 are one budget
            dict.fromkeys(mlx_ifp.Budget.parse(k).value for k in csv(keep, None, "keep ratio"))
        ),
        modes=tuple(dict.fromkeys(x for m in modes for x in (MODES if m == "both" else [m]))),
        limit=limit,
        gen_limit=gen_limit,
        batch_size=batch_size,
        timeout=timeout,
        max_len=max_len,
        max_tokens={"math": max_tokens, "code": max_tokens},
        mask_files=files,
        adapters={
            name: adapter_folder(folder, model)
            for name, folder in named_paths(adapter, "--adapter").items()
        },
        prefill=prefill,
        repick=check_repick(repick),
    )
    if "predictor" in cfg.sources:  # its folder: not a --mask-sources name
        raise UsageError(
            "eval takes a trained predictor as --adapter NAME=DIR (the predictor shipped "
            "with an embedded model: --adapter NAME=default)"
        )
    check_rows(cfg, [mlx_ifp.make_source(n) for n in cfg.sources])  # (unknown names: here)
    names = [*cfg.sources, *cfg.mask_files, *cfg.adapters]
    if len(set(names)) < len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise UsageError(
            f"{', '.join(twice)}: each mask source, --mask and --adapter needs its own name"
        )
    masks = [m for f in files.values() for m in mlx_ifp.Mask.files(f)]
    for path in masks:
        if not path.is_file():
            raise UsageError(f"--mask: file not found: {path}")
    check_mask_files(files)  # e.g. a predictor's mask whose folder is gone: before the load
    for name, folder in cfg.adapters.items():
        if not Path(folder).is_dir():
            raise UsageError(f"--adapter {name}: folder not found: {folder}")
    if output:
        check_writable(output)
        not_an_input(output, model, data, *masks, *cfg.adapters.values())
    mlx_ifp.check_model(model)  # before the corpus build (minutes without --data)
    if corpus_folder(data):  # a corpus given: its domains before the model loads
        cfg.domains = built_domains(data, cfg.domains)
    net, tokenizer = mlx_ifp.load(model)
    keep_channels(net, cfg.keeps)  # a --keep over the FFN width, a mask or an adapter of
    for path in files.values():  # another model: before the corpus build
        mlx_ifp.Mask.load(path, net)
    for path in cfg.adapters.values():
        check_adapter(path, net)
    folder = data or build()
    if not data:  # (a given corpus's domains were read above)
        cfg.domains = built_domains(folder, cfg.domains)
    with warnings.catch_warnings():  # ours (prompts cut to --max-len): one line, as elsewhere
        warnings.showwarning = lambda message, *_, **__: typer.echo(f"Warning: {message}", err=True)
        report = evaluate(net, tokenizer, folder, cfg)
    report.update(model=model, data=str(folder), config=asdict(cfg))  # NaN, inf: strict null
    text = json.dumps(json.loads(json.dumps(report), parse_constant=lambda _: None), indent=2)
    if output:  # before the table: `eval -o r.json | head` closing stdout lost the report
        with atomic_file(output) as tmp:
            tmp.write_text(text + "\n")
    Console(width=160, stderr=not output).print(table(report))  # stdout: the JSON alone
    if not output:
        print(text)


def plot_command(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="overlap (mask heatmap) or quality (from eval).")],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="Figure to write (PNG, or .svg, .pdf...: its suffix); overlap: numbers to .json.",
        ),
    ],
    report: Annotated[
        str | None, typer.Option("--report", help="JSON from `mlx_ifp eval` (quality).")
    ] = None,
    metric: Annotated[
        str,
        typer.Option(help="quality metric: ppl, nll, kl, top1, exact_match (GSM8K) or pass@1."),
    ] = "ppl",
    model: Annotated[str, typer.Option("--model", help="Model (overlap).")] = (
        "smollm2-135m-instruct"
    ),
    data: Annotated[
        str | None, typer.Option("--data", help=f"Corpus folder (overlap; {CACHED}).")
    ] = None,
    mask_source: Annotated[str, typer.Option("--mask-source", help="Source (overlap).")] = (
        "griffin"
    ),
    keep: Annotated[float | None, typer.Option(help="Keep ratio (overlap; default 0.5).")] = None,
    adapter: Annotated[
        str | None,
        typer.Option(
            "--adapter",
            help="A finetune folder, or 'default' (the shipped predictor), for --mask-source "
            "predictor (overlap), used at the budget it was trained for unless --keep is given.",
        ),
    ] = None,
    n: Annotated[int, typer.Option("-n", help="Test prompts per domain (overlap).")] = 8,
    groups: Annotated[int, typer.Option(help="Layer groups (overlap).")] = 3,
):
    """Write a figure: mask overlap between domains, or quality vs active parameters."""
    from ..data import build
    from ..evaluation import (
        adapter_folder,
        built_domains,
        check_figure,
        check_groups,
        mask_overlap,
        overlap_sidecar,
        plot_overlap,
        plot_quality,
    )

    if kind not in ("quality", "overlap"):
        raise UsageError(f"unknown plot {kind!r} (choose overlap or quality)")
    for param in ctx.command.params:  # the other plot's flags were silently ignored
        given = getattr(ctx.get_parameter_source(param.name), "name", "") == "COMMANDLINE"
        other = "quality" if param.name in ("report", "metric") else "overlap"
        if given and param.name not in ("kind", "output") and other != kind:
            raise UsageError(f"{param.opts[0]} is for `plot {other}`, not `plot {kind}`")
    for flag, value in (("--data", data), ("--adapter", adapter)):  # "$D" unset: not "none"
        if value is not None and not value.strip():
            raise UsageError(f"{flag} is empty: give a value or leave it out")
    check_figure(given_output(output))  # before any work; -o "" is no folder
    if kind == "quality":
        if not report:
            raise UsageError("quality plots need --report FILE (the JSON of `mlx_ifp eval -o`)")
        report = str(Path(report).expanduser())
        if not Path(report).is_file():
            raise UsageError(f"eval report not found: {report} (the JSON of `mlx_ifp eval -o`)")
        path = plot_quality(read_json(report, "eval report"), output, metric)
    else:
        if n < 2:
            raise UsageError(f"-n must be at least 2 (prompts compared per domain), got {n}")
        if groups < 1:
            raise UsageError(f"--groups must be at least 1, got {groups}")
        budget = None if keep is None else mlx_ifp.Budget.parse(keep)  # before the load
        if mask_source == "predictor" and adapter is None:
            raise UsageError(
                "--mask-source predictor needs --adapter DIR (a `finetune` folder) or --adapter "
                "default (the predictor shipped with an embedded model)"
            )
        if mask_source != "predictor":
            mlx_ifp.make_source(mask_source)  # an unknown name
        if adapter is not None:  # default: the shipped one trained nearest --keep, as generate
            adapter = adapter_folder(adapter, model, budget)
            if not Path(adapter).is_dir():
                raise UsageError(f"adapter folder not found: {adapter}")
        if adapter is not None and mask_source != "predictor":  # (it read the LoRA'd model)
            raise UsageError(f"--adapter is for --mask-source predictor, not {mask_source}")
        sidecar = overlap_sidecar(output)  # (one that holds other JSON: refused)
        mlx_ifp.check_model(model)
        domains = built_domains(corpus_folder(data)) if data else None  # before the load
        net, tokenizer = mlx_ifp.load(model, adapter_path=adapter)
        check_groups(net, groups)  # before the corpus build (minutes without --data)
        folder = data or build()
        domains = domains or built_domains(folder)  # those it has (prose: Debian packages)
        result = mask_overlap(
            net, tokenizer, folder, mask_source, keep, n, groups, domains=domains, progress=True
        )
        with atomic_file(sidecar) as tmp:  # renamed after the figure: both or neither
            tmp.write_text(json.dumps(result, indent=2))
            path = plot_overlap(result, output)
    typer.echo(f"Wrote {path}")
