"""The ``mlx_ifp`` command line: a thin typer layer over the Python API, one module per command."""

from __future__ import annotations

import mlx_ifp  # noqa: F401  (loads the optimized BLAS before mlx.core)

import typer

from . import bench, convert, data, evaluate, finetune, generate, info, plot, serve
from .common import handle_errors

app = typer.Typer(
    help="Instruction-following pruning for MLX: prune a model's FFNs for a prompt or task, "
    "then generate on the slim model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

COMMANDS = {
    "generate": generate.generate_command,
    "export": convert.convert_command,
    "convert": convert.convert_command,
    "info": info.info_command,
    "finetune": finetune.finetune_command,
    "eval": evaluate.eval_command,
    "bench": bench.bench_command,
    "plot": plot.plot_command,
    "serve": serve.serve_command,
}
for _name, _fn in COMMANDS.items():
    app.command(_name)(handle_errors(_fn))
data_app = typer.Typer(help="Build the offline multi-domain corpus.", no_args_is_help=True)
data_app.command("build")(handle_errors(data.data_build_command))
app.add_typer(data_app, name="data")


def main() -> None:
    app()
