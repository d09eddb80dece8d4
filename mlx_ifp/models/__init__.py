"""Resolve a model name to ``(model, tokenizer)``: mlx-lm folders and repos, GGUF files, the
embedded default (with its shipped predictors), and the optimized BLAS that must load before
``mlx.core``; what the device does with packed models, and what its allocator takes."""

from .blas import blas_status, load_optimized_blas

load_optimized_blas()  # must precede the first `import mlx.core`

from .device import (  # noqa: E402
    COMPILING,
    allocated_bytes,
    claim_compile_notice,
    hugepages_status,
    notify_compiling,
    packed_matmul_check,
    packed_matmul_warning,
    warn_if_packed_matmul_broken,
)
from .embedded import (  # noqa: E402
    EMBEDDED,
    WEIGHTS,
    adapter_folder,
    default_adapter,
    shipped_adapters,
)
from .resolve import (  # noqa: E402
    DEFAULT_MODEL,
    Kept,
    adapted_copy,
    check_model,
    export_note,
    load,
    resolve,
    trained_llm,
)

__all__ = [
    "COMPILING",
    "DEFAULT_MODEL",
    "EMBEDDED",
    "Kept",
    "adapted_copy",
    "allocated_bytes",
    "check_model",
    "blas_status",
    "export_note",
    "claim_compile_notice",
    "adapter_folder",
    "default_adapter",
    "hugepages_status",
    "load",
    "load_optimized_blas",
    "notify_compiling",
    "packed_matmul_check",
    "packed_matmul_warning",
    "resolve",
    "shipped_adapters",
    "WEIGHTS",
    "trained_llm",
    "warn_if_packed_matmul_broken",
]
