"""``mlx_ifp info``: versions, backend, BLAS, cache folder and plug-ins."""

from __future__ import annotations

import os
from typing import Annotated

import mlx_ifp

import typer


def _packed_check(result: dict) -> str:
    verdict = "pass" if result["ok"] else "FAIL (load models with --dequantize)"
    return (
        f"{verdict}: quantized_matmul vs dequantize + matmul, max relative error "
        f"{result['max_error']:.1e} ({', '.join(result['cases'])})"
    )


def _shipped() -> str:
    """Each embedded model's shipped predictors (+ LoRA) and the budgets they were trained at."""
    from ..common import read_json
    from ..models import EMBEDDED, shipped_adapters

    out = []
    for name in EMBEDDED:
        cfgs = [read_json(f / "ifp_config.json", "config") for f in shipped_adapters(name)]
        if cfgs:
            keeps = ", ".join(f"keep {c['keep']} ({c['k']} channels)" for c in cfgs)
            out.append(f"{name}: {keeps}")
    return "; ".join(out) or "none"


def info_command(
    model: Annotated[
        str | None, typer.Option("--model", help="Also describe this model's FFNs.")
    ] = None,
):
    """Versions, backend, BLAS in use, cache folder and the registered plug-ins."""
    import mlx.core as mx
    import mlx_lm

    from ..common import cache_dir
    from ..core import ARCHITECTURES, count
    from ..models import blas, hugepages, packed_matmul_check
    from ..sources import SOURCES

    rows = {
        "mlx_ifp": mlx_ifp.__version__,
        "mlx": mx.__version__,
        "mlx-lm": mlx_lm.__version__,
        "device": str(mx.default_device()),
        "blas": blas.STATUS,
        "blas threads": os.environ.get("OPENBLAS_NUM_THREADS", "library default"),
        "huge pages": hugepages.status(),
        "packed matmul check": _packed_check(packed_matmul_check()),
        "cache": str(cache_dir()),
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
        rows["weight bytes"] = f"{c['bytes'] / 1e6:.1f} MB"
    width = max(map(len, rows))
    for key, value in rows.items():
        typer.echo(f"{key:<{width}}  {value}")
