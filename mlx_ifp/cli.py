"""The ``mlx_ifp`` command line: a thin typer layer over the Python API."""

from __future__ import annotations

import functools
import sys
from typing import Annotated

import mlx_ifp  # noqa: F401  (loads the optimized BLAS before mlx.core)

import typer

from .errors import UsageError

app = typer.Typer(
    help="Instruction-following pruning for MLX: prune a model's FFNs for a prompt or task, "
    "then generate on the slim model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Model = Annotated[
    str,
    typer.Option(
        "--model",
        help="smollm2-135m-instruct (embedded), a .gguf file, an mlx-lm "
        "folder or a Hugging Face repo id.",
    ),
]
Keep = Annotated[
    str,
    typer.Option("--keep", help="FFN channels kept per layer: a fraction in (0, 1] or a count."),
]
Source = Annotated[
    str, typer.Option("--mask-source", help="griffin, static, static-act, random or full.")
]
Task = Annotated[
    str | None,
    typer.Option(
        "--task",
        help="Select the mask from this task description instead of the "
        "prompt (one mask, cached, for every prompt of the task).",
    ),
]
Dequantize = Annotated[
    bool | None,
    typer.Option(
        "--dequantize/--no-dequantize", help="Unpack quantized weights (default: yes on CPU)."
    ),
]


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def handle_errors(fn):
    """Turn bad input into one line on stderr and exit code 2, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UsageError as e:
            _fail(str(e))
        except KeyboardInterrupt:
            _fail("interrupted", 130)

    return wrapper


def _read_prompt(prompt: str | None) -> str:
    if prompt == "-":
        prompt = sys.stdin.read()
    if prompt is None or not prompt.strip():
        raise UsageError("the prompt is empty (give --prompt TEXT, or --prompt - to read stdin)")
    return prompt


def _source_and_keep(name: str | None, keep: str | None, adapter: str | None, tokenizer):
    """The mask source and budget: a trained predictor's own defaults when there is one."""
    from .sources import make_source

    name = name or ("predictor" if adapter else "griffin")
    if keep is None and adapter:
        from .predictor import read_config

        keep = read_config(adapter).get("k")
    source = make_source(name, tokenizer=tokenizer, path=adapter)
    return source, keep if keep is not None else "0.5"


@app.command()
@handle_errors
def generate(
    model: Model = "smollm2-135m-instruct",
    prompt: Annotated[
        str | None, typer.Option("--prompt", "-p", help="The prompt; '-' reads stdin.")
    ] = None,
    max_tokens: Annotated[
        int, typer.Option("--max-tokens", "-m", help="Tokens to generate.")
    ] = 256,
    temp: Annotated[float, typer.Option(help="Sampling temperature (0 is greedy).")] = 0.0,
    top_p: Annotated[float, typer.Option("--top-p", help="Nucleus sampling threshold.")] = 1.0,
    seed: Annotated[int | None, typer.Option(help="Random seed for sampling.")] = None,
    system_prompt: Annotated[str | None, typer.Option(help="A system message.")] = None,
    ignore_chat_template: Annotated[
        bool, typer.Option("--ignore-chat-template", help="Feed the prompt as raw text.")
    ] = False,
    keep: Annotated[
        str | None,
        typer.Option(
            "--keep",
            help="FFN channels kept per layer: a fraction in (0, 1] or a "
            "count. Default 0.5, or the budget the adapter's predictor was trained for.",
        ),
    ] = None,
    mask_source: Annotated[
        str | None,
        typer.Option(
            "--mask-source",
            help="griffin, static, static-act, random, full or "
            "predictor. Default: predictor with --adapter, else griffin.",
        ),
    ] = None,
    task: Task = None,
    mask: Annotated[
        str | None, typer.Option("--mask", help="Use a saved mask file (.safetensors + .json).")
    ] = None,
    adapter: Annotated[
        str | None,
        typer.Option(
            "--adapter",
            help="A `mlx_ifp finetune` output folder: its adapters are "
            "loaded and its trained predictor picks the mask.",
        ),
    ] = None,
    save_mask: Annotated[
        str | None, typer.Option("--save-mask", help="Save the mask used to this file.")
    ] = None,
    align: Annotated[int, typer.Option(help="Round the kept count up to a multiple.")] = 1,
    prefill: Annotated[
        str,
        typer.Option(
            "--prefill",
            help="dense: the prompt runs through the full model and only decoding is "
            "pruned (GRIFFIN; a per-prompt GRIFFIN mask then costs no extra pass); slim: "
            "everything on the pruned model; auto: dense for a per-prompt GRIFFIN mask.",
        ),
    ] = "auto",
    dequantize: Dequantize = None,
    verbose: Annotated[
        bool, typer.Option("--verbose/--quiet", help="Print the timing and pruning footer.")
    ] = True,
):
    """Generate text through the pruned model, streaming it as it comes."""
    import mlx.core as mx

    from .generate import footer, stream_generate
    from .load import load
    from .mask import Mask

    if max_tokens == 0 or max_tokens < -1:
        raise UsageError("--max-tokens must be positive (or -1 for no limit)")
    text = _read_prompt(prompt)
    if seed is not None:
        mx.random.seed(seed)
    net, tokenizer = load(model, dequantize=dequantize, adapter_path=adapter)
    given = Mask.load(mask, net) if mask else None
    source, keep = _source_and_keep(mask_source, keep, adapter, tokenizer)
    last = None
    for last in stream_generate(
        net,
        tokenizer,
        text,
        max_tokens,
        task=task,
        mask=given,
        keep=keep,
        mask_source=source,
        align=align,
        system_prompt=system_prompt,
        chat_template=not ignore_chat_template,
        temp=temp,
        top_p=top_p,
        prefill=prefill,
    ):
        print(last.text, end="", flush=True)
    print()
    if last is not None and save_mask:
        path = last.prune.mask.save(save_mask)
        typer.echo(f"Saved mask to {path}", err=True)
    if verbose and last is not None:
        typer.echo("\n".join(footer(last)), err=True)


@app.command()
@handle_errors
def convert(
    model: Model = "smollm2-135m-instruct",
    output: Annotated[str, typer.Option("--output", "-o", help="The mlx-lm folder to write.")] = "",
    keep: Annotated[
        str | None, typer.Option("--keep", help="Export a slim model keeping this many channels.")
    ] = None,
    mask_source: Annotated[
        str | None,
        typer.Option("--mask-source", help="Default: griffin with --task, static without."),
    ] = None,
    task: Task = None,
    mask: Annotated[
        str | None, typer.Option("--mask", help="Export the slim model of a mask.")
    ] = None,
    dtype: Annotated[
        str | None, typer.Option(help="Cast float weights: float32, float16, bfloat16.")
    ] = None,
    dequantize: Dequantize = False,
):
    """Write a model (or the slim model of a task or mask) as a standard mlx-lm folder."""
    from .export import export
    from .generate import select
    from .load import load
    from .mask import Mask

    if not output:
        raise UsageError("give the output folder with --output/-o")
    if dtype not in (None, "float32", "float16", "bfloat16"):
        raise UsageError(f"--dtype must be float32, float16 or bfloat16, got {dtype!r}")
    net, tokenizer = load(model, dequantize=dequantize, dtype=dtype)
    if mask or keep is not None or task:
        from .sources import make_source

        given = Mask.load(mask, net) if mask else None
        mask_source = mask_source or ("griffin" if task else "static")
        source = make_source(mask_source, tokenizer=tokenizer)
        if given is None and source.uses_text and not task:
            raise UsageError(f"--mask-source {mask_source} selects from text: give --task")
        net, _ = select(
            net, tokenizer, task=task or "-", mask=given, keep=keep or 0.5, mask_source=source
        )
    path = export(net, tokenizer, output, dtype=dtype)
    typer.echo(f"Wrote {path}")


@app.command()
@handle_errors
def info(
    model: Annotated[
        str | None, typer.Option("--model", help="Also describe this model's FFNs.")
    ] = None,
):
    """Versions, backend, BLAS in use, cache folder and the registered plug-ins."""
    import mlx.core as mx
    import mlx_lm

    from . import blas, ffn, paths
    from .sources import SOURCES

    rows = {
        "mlx_ifp": mlx_ifp.__version__,
        "mlx": mx.__version__,
        "mlx-lm": mlx_lm.__version__,
        "device": str(mx.default_device()),
        "blas": blas.STATUS,
        "cache": str(paths.cache_dir()),
        "mask sources": ", ".join(SOURCES),
        "architectures": ", ".join(sorted(ffn.ARCHITECTURES)) + " (others probed)",
    }
    if model:
        from .load import load

        net, _ = load(model)
        c = ffn.count(net)
        rows["model"] = model
        rows["layers x d_ffn"] = f"{c['layers']} x {c['d_ffn']}"
        rows["parameters"] = f"{c['params'] / 1e6:.1f}M ({c['ffn_params'] / c['params']:.0%} FFN)"
        rows["weight bytes"] = f"{c['bytes'] / 1e6:.1f} MB"
    width = max(map(len, rows))
    for key, value in rows.items():
        typer.echo(f"{key:<{width}}  {value}")


def _register_commands() -> None:
    """Commands whose options live beside their implementation (one module per command)."""
    from .bench import bench_command
    from .data import data_build_command
    from .evaluate import eval_command
    from .finetune import finetune_command
    from .plots import plot_command
    from .serve.command import serve_command

    app.command("finetune")(handle_errors(finetune_command))
    app.command("eval")(handle_errors(eval_command))
    app.command("bench")(handle_errors(bench_command))
    app.command("plot")(handle_errors(plot_command))
    app.command("serve")(handle_errors(serve_command))
    data_app = typer.Typer(help="Build the offline multi-domain corpus.", no_args_is_help=True)
    data_app.command("build")(handle_errors(data_build_command))
    app.add_typer(data_app, name="data")


_register_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
