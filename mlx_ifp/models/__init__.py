"""Resolve a model name to ``(model, tokenizer)``: mlx-lm folders and repos, GGUF files, the
embedded default, and the optimized BLAS that must load before ``mlx.core``."""

from .blas import load_optimized_blas

load_optimized_blas()  # must precede the first `import mlx.core`

from .resolve import DEFAULT_MODEL, load, resolve  # noqa: E402

__all__ = ["DEFAULT_MODEL", "load", "load_optimized_blas", "resolve"]
