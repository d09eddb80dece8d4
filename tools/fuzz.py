"""Fuzz the loaders with hypothesis: jsonl/chat records, masks, predictors, GGUF headers, requests.

Each target feeds generated input to one reader and allows only its documented failure: a
one-line ``UsageError`` for files and records, ``ValueError`` for a GGUF header, an ``APIError``
(4xx) for a server request. Anything else (a crash, another exception, a hang past hypothesis'
deadline-free run) is a finding. ``tests/test_fuzz.py`` runs a 50-case slice of every target;
this runs thousands. Run from the repository root:

    OPENBLAS_NUM_THREADS=1 python tools/fuzz.py --examples 2000 -o docs/results/fuzz.json
"""

from __future__ import annotations

import argparse
import functools
import json
import struct
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import mlx_ifp  # noqa: E402, F401  (the optimized BLAS before mlx.core)

import hypothesis.strategies as st  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=12,
)
KEYS = st.sampled_from(["text", "prompt", "completion", "messages", "role", "content", "x"])
ROLE = st.sampled_from(["user", "assistant", "system", "tool", "", "USER"])
MESSAGE = st.fixed_dictionaries({}, optional={"role": ROLE | JSON, "content": st.text() | JSON})
RECORD = st.dictionaries(KEYS, JSON | st.text() | st.lists(MESSAGE, max_size=4), max_size=4)


@functools.cache
def world() -> dict:
    """A tiny model, its tokenizer, and a valid mask and predictor folder to mutate."""
    from mlx_ifp.bench.models import synthetic_tokenizer
    from mlx_ifp.core import Mask

    from tiny import finetune_folder, tiny_model

    root = Path(tempfile.mkdtemp(prefix="fuzz."))
    model = tiny_model("llama")
    mask = Mask.full(model).save(root / "mask")
    pred = finetune_folder(model, root / "pred", 48, train="frozen")
    weights = (pred / "predictor.safetensors").read_bytes()
    return {"root": root, "model": model, "tok": synthetic_tokenizer(128), "mask": mask,
            "mask_bytes": mask.read_bytes(), "pred_bytes": weights,
            "pred_config": json.loads((pred / "ifp_config.json").read_text())}  # fmt: skip


def mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    """``data`` with bytes overwritten at (position, value) pairs, then cut at ``cut``."""
    raw = bytearray(data)
    for pos, value in edits:
        if raw:
            raw[pos % len(raw)] = value
    return bytes(raw[:cut] if cut is not None else raw)


EDITS = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=6)
CUT = st.none() | st.integers(0, 4096)


def jsonl_target(lines: list, stage: str) -> None:
    from mlx_ifp import UsageError
    from mlx_ifp.train.batches import read_jsonl, to_example

    path = world()["root"] / "fuzz.jsonl"
    path.write_bytes(
        b"\n".join(x if isinstance(x, bytes) else json.dumps(x).encode() for x in lines)
    )
    try:
        for rec in read_jsonl(path):
            to_example(rec, world()["tok"], stage)
    except UsageError as e:
        assert "\n" not in str(e).strip()


def mask_target(edits, cut, sidecar) -> None:
    from mlx_ifp import Mask, UsageError

    w = world()
    path = w["root"] / "fm.safetensors"
    path.write_bytes(mutate(w["mask_bytes"], edits, cut))
    path.with_suffix(".json").write_text(json.dumps(sidecar))
    try:
        Mask.load(path, w["model"])
    except UsageError:
        pass


def predictor_target(edits, cut, config_edit) -> None:
    from mlx_ifp import UsageError
    from mlx_ifp.sources.predictor import load_predictor

    w = world()
    folder = w["root"] / "fp"
    folder.mkdir(exist_ok=True)
    (folder / "predictor.safetensors").write_bytes(mutate(w["pred_bytes"], edits, cut))
    cfg = json.loads(json.dumps(w["pred_config"]))
    for key, value in config_edit.items():
        cfg["predictor"][key] = value
    (folder / "ifp_config.json").write_text(json.dumps(cfg))
    try:
        load_predictor(folder, w["model"])
    except UsageError:
        pass


def gguf_bytes(n_tensors: int, n_kv: int, body: bytes) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", 3, n_tensors, n_kv) + body


KV = st.builds(
    lambda key, kind, value: struct.pack("<Q", len(key)) + key + struct.pack("<I", kind) + value,
    st.binary(max_size=12), st.integers(0, 13), st.binary(max_size=24),
)  # fmt: skip
COUNT = st.integers(0, 2**64 - 1) | st.integers(0, 4)
PREDICTOR_KEYS = st.sampled_from(["rank", "layers", "head", "model", "d_ffn"])
LINES = st.lists(RECORD | JSON | st.binary(max_size=40), max_size=5)


def gguf_target(n_tensors: int, n_kv: int, kvs: list, tail: bytes) -> None:
    from mlx_ifp.models.gguf_decode import tensor_types

    path = world()["root"] / "f.gguf"
    path.write_bytes(gguf_bytes(n_tensors, n_kv, b"".join(kvs) + tail))
    try:
        tensor_types(path)
    except ValueError:
        pass


def request_target(body, chat: bool) -> None:
    from mlx_ifp.inference.generation import check_sampling
    from mlx_ifp.serve.schemas import APIError, Limits, parse_request

    try:
        req = parse_request(body, chat, Limits())
    except APIError as e:
        assert 400 <= e.status < 500 and e.body()["error"]["message"]
        return
    # what the server accepts, runs
    check_sampling(req.max_tokens, req.temperature, req.top_p, req.min_p, req.top_k)


REQUEST = st.dictionaries(
    st.sampled_from(["model", "messages", "prompt", "max_tokens", "max_completion_tokens",
                     "temperature", "top_p", "min_p", "top_k", "stream", "stop", "seed", "n",
                     "user", "stream_options", "logprobs"]),
    JSON | st.just("m") | st.lists(MESSAGE, max_size=3) | st.floats(-3, 3), max_size=8,
)  # fmt: skip

TARGETS = {
    "jsonl_and_chat_records": (
        jsonl_target,
        (LINES, st.sampled_from(["sft", "pretrain"])),
    ),
    "mask_loader": (mask_target, (EDITS, CUT, st.fixed_dictionaries({"d_ffn": JSON}) | JSON)),
    "predictor_loader": (
        predictor_target,
        (EDITS, CUT, st.dictionaries(PREDICTOR_KEYS, JSON, max_size=2)),
    ),
    "gguf_header": (
        gguf_target,
        (COUNT, COUNT, st.lists(KV, max_size=4), st.binary(max_size=64)),
    ),
    "server_requests": (request_target, (REQUEST | JSON, st.booleans())),
}  # fmt: skip


def run_target(name: str, examples: int, seed: int = 0) -> dict:
    """Run one target for ``examples`` cases; the first finding (shrunk) is reported."""
    fn, strategies = TARGETS[name]
    count = {"n": 0}

    def counted(args):
        count["n"] += 1
        fn(*args)

    test = settings(
        max_examples=examples, deadline=None, database=None, derandomize=seed == 0,
        suppress_health_check=list(HealthCheck),
    )(given(st.tuples(*strategies))(counted))  # fmt: skip
    t0 = time.perf_counter()
    finding = None
    try:
        test()
    except Exception as e:  # hypothesis re-raises the shrunk failure
        tb = traceback.format_exception(e)
        where = [x.strip().splitlines()[0] for x in tb if "mlx_ifp/" in x][-3:]
        found = getattr(e, "exceptions", None) or [e]  # several distinct failures: a group
        finding = {"errors": sorted({f"{type(x).__name__}: {first_line(x)}" for x in found}),
                   "where": where}  # fmt: skip
    return {"cases": count["n"], "seconds": round(time.perf_counter() - t0, 1), "finding": finding}


def first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:160] if text else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=2000, help="cases per target")
    ap.add_argument("--targets", default=",".join(TARGETS), help="comma-separated targets")
    ap.add_argument("-o", "--output", help="write the JSON here too")
    args = ap.parse_args()
    results = {name: run_target(name, args.examples) for name in args.targets.split(",")}
    out = {"examples_per_target": args.examples, "targets": results,
           "cases": sum(r["cases"] for r in results.values()),
           "findings": sum(r["finding"] is not None for r in results.values())}  # fmt: skip
    text = json.dumps(out, indent=2)
    print(text)
    if args.output:
        from mlx_ifp.common import atomic_file

        with atomic_file(args.output) as tmp:
            tmp.write_text(text + "\n")
    sys.exit(1 if out["findings"] else 0)


if __name__ == "__main__":
    main()
