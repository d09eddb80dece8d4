"""Minimal repro of mx.load's Q4_K bug: sub-blocks 1, 3, 5, 7 get the scales of 0, 2, 4, 6."""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import sys
import tempfile
from pathlib import Path

import gguf
import mlx.core as mx
import numpy as np


def crafted_block() -> np.ndarray:
    """One Q4_K super-block whose sub-block j (32 values) decodes to exactly j + 1.

    d = 1, dmin = 0, sub-block scales 1..8 (6-bit, packed as llama.cpp's get_scale_min_k4 reads
    them), mins 0, every 4-bit code 1.
    """
    d = np.array([1.0, 0.0], dtype=np.float16).view(np.uint8)  # d, dmin
    scales = np.array([1, 2, 3, 4, 0, 0, 0, 0, 5, 6, 7, 8], dtype=np.uint8)
    codes = np.full(128, 0x11, dtype=np.uint8)
    return np.concatenate([d, scales, codes]).reshape(1, 144)


def random_blocks(n: int, seed: int = 0) -> np.ndarray:
    """``n`` random Q4_K super-blocks with small finite d/dmin."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (n, 144), dtype=np.uint8)
    dd = rng.uniform(1e-3, 1e-2, (n, 2)).astype(np.float16)
    blocks[:, :4] = dd.view(np.uint8)
    return blocks


def write(path: Path, blocks: np.ndarray) -> None:
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_tensor("w", blocks.reshape(1, -1), raw_dtype=gguf.GGMLQuantizationType.Q4_K)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--blocks", type=int, default=64, help="random super-blocks to check")
    args = ap.parse_args()
    versions = {p: importlib.metadata.version(p) for p in ("mlx", "gguf", "numpy")}
    print(", ".join(f"{k} {v}" for k, v in versions.items()), f"Python {platform.python_version()}",
          platform.platform(), sep=", ")  # fmt: skip
    bad = False
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "q4k.gguf"
        write(path, crafted_block())
        got = np.array(mx.load(str(path))["w"].astype(mx.float32)).reshape(8, 32)
        ref = gguf.quants.dequantize(crafted_block(), gguf.GGMLQuantizationType.Q4_K)
        ref = ref.reshape(8, 32)
        print("\n1) crafted super-block: sub-block j should decode to j + 1 everywhere")
        print("sub-block  expected(gguf.quants)  mx.load   ok")
        for j in range(8):
            ok = np.array_equal(got[j], ref[j])
            bad |= not ok
            print(f"{j:9d}  {ref[j, 0]:20g}  {got[j, 0]:8g}  {'yes' if ok else 'NO'}")

        write(path, random_blocks(args.blocks))
        got = np.array(mx.load(str(path))["w"].astype(mx.float32)).reshape(-1, 8, 32)
        ref = gguf.quants.dequantize(random_blocks(args.blocks), gguf.GGMLQuantizationType.Q4_K)
        ref = ref.reshape(-1, 8, 32)
        err = np.abs(got - ref).max(axis=(0, 2))
        tol = 1e-3 * np.abs(ref).max()  # mx.load returns float16
        corr = np.corrcoef(got.ravel(), ref.ravel())[0, 1]
        print(f"\n2) {args.blocks} random super-blocks: max |mx.load - reference| per sub-block")
        print("  ".join(f"{j}:{e:.2e}{'' if e <= tol else '*'}" for j, e in enumerate(err)))
        print(f"(* = wrong, beyond float16 rounding {tol:.1e}); correlation {corr:.3f}")
        bad |= bool((err > tol).any())
    print("\nBUG PRESENT" if bad else "\nmx.load decodes Q4_K correctly")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
