"""The ``mlx_ifp`` command line: a thin typer layer over the Python API, one module per command
or per small group of related commands.

``mlx_ifp`` itself, this package's parent, is always imported first: it loads the optimized BLAS
before ``mlx.core``.
"""

from __future__ import annotations

import typer

from .common import handle_errors
from .evaluate import data_build_command, eval_command, plot_command
from .finetune import finetune_command
from .generate import convert_command, generate_command
from .info import bench_command, info_command
from .serve import serve_command

app = typer.Typer(
    help="Instruction-following pruning for MLX: prune a model's FFNs for a prompt or task, "
    "then generate on the slim model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

COMMANDS = {
    "generate": generate_command,
    "export": convert_command,
    "convert": convert_command,
    "info": info_command,
    "finetune": finetune_command,
    "eval": eval_command,
    "bench": bench_command,
    "plot": plot_command,
    "serve": serve_command,
}
for _name, _fn in COMMANDS.items():
    app.command(_name)(handle_errors(_fn))
data_app = typer.Typer(help="Build the offline multi-domain corpus.", no_args_is_help=True)
data_app.command("build")(handle_errors(data_build_command))
app.add_typer(data_app, name="data")


def main() -> None:
    app()
