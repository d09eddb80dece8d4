"""Pack trained runs as they ship: float16 weights + their JSON, one .tar per run.

    python tools/pack_run.py RUN_DIR [RUN_DIR ...] -o OUT_DIR [--logs]

Each RUN_DIR (a finetune output folder: predictor.safetensors, adapters.safetensors,
ifp_config.json, adapter_config.json, trainer_state.json) becomes OUT_DIR/<name>.tar, where
<name> is the run's path below the common parent with "/" as "-". The float16 copy is what
``mlx_ifp/weights/`` ships (half the bytes; the GPU machine brings back files of at most
16 MiB). trainer_state.json rides along for its history and token counts; its weight hashes
then describe the float32 originals. ``--logs`` also packs every *.log and *.yaml beside the
runs into OUT_DIR/logs.tar. Prints one JSON line per tar (name, bytes).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tarfile
import tempfile
from pathlib import Path

from mlx_ifp.common import atomic_file  # noqa: I001  (mlx_ifp before mlx.core: its BLAS)

import mlx.core as mx

WEIGHTS = ("predictor.safetensors", "adapters.safetensors")
META = ("ifp_config.json", "adapter_config.json", "trainer_state.json")


def half(path: Path) -> bytes:
    """The safetensors file at ``path`` with every floating array as float16."""
    arrays = {
        k: v.astype(mx.float16) if mx.issubdtype(v.dtype, mx.floating) else v
        for k, v in mx.load(str(path)).items()
    }
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "w.safetensors")
        mx.save_safetensors(out, arrays)
        return Path(out).read_bytes()


def add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_tar(target: Path, members: dict[str, bytes]) -> int:
    """Write ``members`` (name -> bytes) into ``target`` atomically; its size in bytes."""
    with atomic_file(target) as tmp, tarfile.open(tmp, "w") as tar:
        for name, data in members.items():
            add(tar, name, data)
    return target.stat().st_size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path, help="finetune output folders")
    ap.add_argument("-o", "--output", type=Path, required=True, help="folder for the .tar files")
    ap.add_argument("--logs", action="store_true", help="also pack *.log and *.yaml beside runs")
    args = ap.parse_args()
    missing = [str(r) for r in args.runs if not (r / "ifp_config.json").is_file()]
    if missing:
        print(f"error: not a finetune output folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    args.output.mkdir(parents=True, exist_ok=True)
    root = Path(os.path.commonpath([r.resolve().parent for r in args.runs]))
    for run in args.runs:
        name = str(run.resolve().relative_to(root)).replace(os.sep, "-")
        members = {f"{name}/{w}": half(run / w) for w in WEIGHTS if (run / w).is_file()}
        members.update({f"{name}/{m}": (run / m).read_bytes() for m in META if (run / m).is_file()})
        size = write_tar(args.output / f"{name}.tar", members)
        print(json.dumps({"tar": f"{name}.tar", "bytes": size}))
    if args.logs:
        logs = {
            str(p.relative_to(root)): p.read_bytes()
            for pat in ("*.log", "*.yaml")
            for p in sorted(root.rglob(pat))
        }
        size = write_tar(args.output / "logs.tar", logs)
        print(json.dumps({"tar": "logs.tar", "bytes": size, "files": len(logs)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
