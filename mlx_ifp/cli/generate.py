"""``mlx_ifp generate``: prompt in, text out, with speed and active parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import UsageError
from .common import Dequantize, Model, Task, read_prompt, read_task


def source_and_keep(name: str | None, keep: str | None, adapter: str | None, tokenizer):
    """The mask source and budget: a trained predictor's own defaults when there is one."""
    from .. import make_source

    name = name or ("predictor" if adapter else "griffin")
    if keep is None and adapter:
        from ..sources import read_config

        keep = read_config(adapter).get("k")
    source = make_source(name, tokenizer=tokenizer, path=adapter)
    return source, keep if keep is not None else "0.5"


def generate_command(
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
            help="dense: the prompt runs through the unpruned model (with the shipped "
            "LoRA, if any) and only decoding is pruned (a per-prompt GRIFFIN mask then costs "
            "no extra pass); slim: everything on the pruned model; auto: dense for a "
            "per-prompt GRIFFIN mask.",
        ),
    ] = "auto",
    repick: Annotated[
        int | None,
        typer.Option(
            "--repick",
            metavar="N",
            help="Re-pick the mask every N generated tokens from the prompt and the reply so "
            "far; 0: one mask from the prompt (fastest). Default: 16 with a trained predictor "
            "(the shipped one), else 0. Each re-pick costs a dense pass over the N new tokens "
            "and a few new rows (docs/results/reroute/).",
        ),
    ] = None,
    dequantize: Dequantize = None,
    verbose: Annotated[
        bool, typer.Option("--verbose/--quiet", help="Print the timing and pruning footer.")
    ] = True,
):
    """Generate text through the pruned model, streaming it as it comes."""
    import warnings

    import mlx.core as mx

    from .. import Budget, Mask, load, stream_generate
    from ..common import check_writable
    from ..inference import KeepMismatch, check_repick, check_sampling, footer, keep_warning
    from ..models import COMPILING, claim_compile_notice, packed_matmul_warning

    try:
        check_sampling(max_tokens, temp, top_p)
        check_repick(repick)
    except UsageError as e:  # the same rule as the API, in the flags' names
        raise UsageError(f"--{str(e).replace('_', '-')}") from None
    budget = Budget.parse(keep, align) if keep is not None else None  # parsed once, here
    if budget is None and align < 1:
        Budget.parse(1.0, align)  # --align alone is checked too
    if save_mask:
        check_writable(Path(save_mask).with_suffix(".safetensors"))
    text = read_prompt(prompt)
    task = read_task(task)
    if seed is not None:
        mx.random.seed(seed)
    if adapter is None and mask_source is None and mask is None:
        from ..models import default_adapter

        shipped = default_adapter(model, budget)
        adapter = str(shipped) if shipped is not None else None
    net, tokenizer = load(model, dequantize=dequantize, adapter_path=adapter)
    given = Mask.load(mask, net) if mask else None
    source, keep = source_and_keep(mask_source, keep, adapter, tokenizer)
    if warning := packed_matmul_warning(net):
        typer.echo(f"Warning: {warning}", err=True)
    if keep_note := keep_warning(net, source, keep, align) if given is None else "":
        typer.echo(f"Warning: {keep_note}", err=True)
    status = None
    if claim_compile_notice(net):  # stopped at the first token
        from rich.console import Console

        status = Console(stderr=True).status(COMPILING)
        status.start()
    last = None
    with warnings.catch_warnings():
        if keep_note:  # said above, as one line
            warnings.simplefilter("ignore", KeepMismatch)
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
            repick=repick,
        ):
            if status is not None:
                status.stop()
                status = None
            print(last.text, end="", flush=True)
    if status is not None:
        status.stop()
    print()
    if last is not None and save_mask:
        path = last.prune.mask.save(save_mask)
        typer.echo(f"Saved mask to {path}", err=True)
    if verbose and last is not None:
        typer.echo("\n".join(footer(last)), err=True)
