# ruff: noqa: E501  (the table reads best one case a line)
"""Issue 14: bad input across the CLI, the Python API and data loading, table-driven.

Each CLI case runs ``python -m mlx_ifp ...`` as a user would: exit code 2, exactly one
``Error:`` line, no traceback, and nothing written or left half-written (the work folder, the
inputs and the cache are listed before and after). The processes run two at a time, all ended
before the first case is checked (``parallel``). Each API case raises ``UsageError``.
"""

import math
import os
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import mlx_ifp
from mlx_ifp import UsageError

import pytest
from bad_world import build, listing, one_error
from parallel import run_all, selected

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    return build(root)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """The subprocesses' environment: a cache of their own, warmed once (the BLAS copy)."""
    cache = tmp_path_factory.mktemp("cache")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLX_IFP_CACHE": str(cache)}
    env["OPENBLAS_NUM_THREADS"] = "1"
    subprocess.run([sys.executable, "-c", "import mlx_ifp"], env=env, check=True, timeout=120)
    return env


@pytest.fixture(scope="module")
def tiny(world):
    return mlx_ifp.load(str(world["model"]))


M = ["--model", "{model}"]
GEN = ["generate", *M, "-p", "t5 t6", "-m", "2"]
#: (id, argv with {name} for the suite's files, stdin bytes, a fragment of the one error line)
CLI = [
    ("keep-0", [*GEN, "--keep", "0"], None, "--keep must be > 0"),
    ("keep-negative", [*GEN, "--keep", "-3"], None, "--keep must be > 0"),
    ("keep-over-1-fraction", [*GEN, "--keep", "1.5"], None, "neither a fraction"),
    ("keep-nan", [*GEN, "--keep", "nan"], None, "--keep must be > 0"),
    ("keep-text", [*GEN, "--keep", "half"], None, "--keep must be a fraction"),
    ("keep-over-ffn", [*GEN, "--keep", "5000"], None, "more than the 96 FFN channels"),
    ("max-tokens-0", [*GEN, "-m", "0"], None, "--max-tokens must be"),
    ("max-tokens-negative", [*GEN, "-m", "-5"], None, "--max-tokens must be"),
    ("temp-negative", [*GEN, "--temp", "-1"], None, "--temp must be 0 (greedy)"),
    ("top-p-5", [*GEN, "--top-p", "5"], None, "--top-p must be in (0, 1]"),
    ("top-p-0", [*GEN, "--top-p", "0"], None, "--top-p must be in (0, 1]"),
    ("repeat-penalty-0", [*GEN, "--repeat-penalty", "0"], None, "--repetition-penalty must be >= 1e-30"),
    ("presence-penalty-3", [*GEN, "--presence-penalty", "3"], None, "--presence-penalty must be in [-2, 2]"),
    ("repetition-context-0", [*GEN, "--repetition-context-size", "0"], None, "--repetition-context-size must be"),
    ("align-0", [*GEN, "--align", "0"], None, "--align must be"),
    ("prompt-whitespace", ["generate", *M, "-p", "   \n\t"], None, "prompt is empty"),
    ("stdin-empty", ["generate", *M, "-p", "-"], b"", "prompt is empty"),
    ("stdin-binary", ["generate", *M, "-p", "-"], b"\x00\x01\x02\xff\xfe", "not UTF-8"),
    ("stdin-nul", ["generate", *M, "-p", "-"], b"t5\x00t6", "binary data"),
    ("stdin-bad-utf8", ["generate", *M, "-p", "-"], b"t5 \xc3\x28", "not UTF-8"),
    ("model-missing", ["generate", "--model", "/no/such/model", "-p", "hi"], None, "not found"),
    ("model-truncated", ["generate", "--model", "{model_truncated}", "-p", "t5"], None, "truncated"),
    ("model-bad-header", ["generate", "--model", "{model_bad_header}", "-p", "t5"], None, "corrupted"),
    ("model-empty-weights", ["generate", "--model", "{model_empty_weights}", "-p", "t5"], None, "corrupted"),
    ("config-not-json", ["generate", "--model", "{model_config_not_json}", "-p", "t5"], None, "not valid JSON"),
    ("gguf-text-file", ["generate", "--model", "{text_gguf}", "-p", "t5"], None, "bad magic"),
    ("gguf-wrong-magic", ["generate", "--model", "{magic_gguf}", "-p", "t5"], None, "bad magic"),
    ("mask-truncated", [*GEN, "--mask", "{mask_truncated}"], None, "corrupted or truncated"),
    ("mask-other-model", [*GEN, "--mask", "{mask_other_model}"], None, "another model"),
    ("mask-with-keep", [*GEN, "--mask", "{mask}", "--keep", "0.5"], None, "--mask fixes the channels"),
    ("mask-with-task", [*GEN, "--mask", "{mask}", "--task", "math"], None, "--mask fixes the channels"),
    ("adapter-truncated", [*GEN, "--adapter", "{adapter_truncated}"], None, "truncated"),
    ("adapter-weights-missing", [*GEN, "--adapter", "{adapter_no_weights}"], None, "adapters.safetensors is missing"),
    ("predictor-corrupted", [*GEN, "--adapter", "{adapter_bad_predictor}"], None, "corrupted"),
    ("save-mask-below-a-file", [*GEN, "--save-mask", "{a_file}/m"], None, "is a file"),
    ("bench-dtype-int3", ["bench", "--preset", "135m", "--dtype", "int3"], None, "--dtype must be"),
    ("bench-keep-0", ["bench", "--preset", "135m", "--keep", "0"], None, "--keep must be > 0"),
    ("bench-prompt-over-context", ["bench", "--preset", "tiny", "--prompt-tokens", "2000", "--gen-tokens", "100", "--trials", "1"], None, "exceed the model's context of 2048"),
    ("convert-onto-a-file", ["convert", *M, "-o", "{a_file}"], None, "existing file"),
    # refused before the model loads: the model named here does not exist
    ("convert-unknown-source", ["convert", "--model", "/no/such/model", "-o", "out", "--mask-source", "nope"], None, "unknown mask source 'nope'"),
    ("convert-into-other-files", ["convert", "--model", "/no/such/model", "-o", "{data_no_splits}"], None, "folder of other files"),
    ("data-max-stdlib-negative", ["data", "build", "-o", "out", "--max-stdlib", "-1"], None, "--max-stdlib"),
    ("data-build-below-a-file", ["data", "build", "-o", "{a_file}/corpus"], None, "is a file"),
    ("finetune-no-splits", ["finetune", *M, "--data", "{data_no_splits}", "-o", "o"], None, "train.jsonl is missing"),
    ("finetune-malformed-jsonl", ["finetune", *M, "--data", "{data_malformed}", "-o", "o"], None, "line 3: not valid JSON"),
    ("finetune-wrong-keys", ["finetune", *M, "--data", "{data_wrong_keys}", "-o", "o"], None, "expected 'text', 'messages'"),
    ("finetune-empty-train", ["finetune", *M, "--data", "{data_empty}", "-o", "o"], None, "no usable examples"),
    ("finetune-unknown-yaml-key", ["finetune", "-c", "{yaml_unknown}"], None, "unknown config key(s): learning_rte"),
    ("finetune-keep-0", ["finetune", *M, "--data", "{data}", "--keep", "0"], None, "--keep must be > 0"),
    ("finetune-dtype-float64", ["finetune", *M, "--data", "{data}", "--dtype", "float64"], None, "dtype must be"),
    ("finetune-warmup-negative", ["finetune", *M, "--data", "{data}", "--warmup", "-1"], None, "warmup must be >= 0"),
    ("finetune-output-is-a-file", ["finetune", *M, "--data", "{data}", "-o", "{a_file}"], None, "existing file"),
    ("resume-broken-state", ["finetune", "--resume", "{ckpt_bad_state}"], None, "not valid JSON"),
    ("resume-corrupted-weights", ["finetune", "--resume", "{ckpt_corrupt}", "--iters", "3"], None, "is corrupted"),
    ("resume-truncated-state", ["finetune", "--resume", "{ckpt_truncated}", "--iters", "3"], None, "is corrupted"),
    ("resume-missing", ["finetune", "--resume", "/no/such/ckpt"], None, "not a training checkpoint"),
]  # fmt: skip


#: each case is a ~5 s process start: `-m "not slow"` runs one per command and kind of input,
#: a plain run the whole table
FAST = {"keep-0", "max-tokens-negative", "stdin-binary", "model-truncated", "gguf-text-file"}
FAST |= {"bench-dtype-int3", "convert-onto-a-file", "finetune-malformed-jsonl"}
FAST |= {"resume-corrupted-weights", "data-build-below-a-file"}


def run_case(argv: list[str], stdin: bytes | None, work: Path, env: dict):
    """One case's process, as a user runs it: (the run, its seconds)."""
    t0 = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "mlx_ifp", *argv],
        input=stdin,
        capture_output=True,
        cwd=work,
        env=env,
        timeout=120,
    )
    return run, time.perf_counter() - t0


@pytest.fixture(scope="module")
def cli_runs(request, world, env, tmp_path_factory):
    """Case id -> (its work folder, the watched files before any case ran, the future of its
    run): the selected cases' processes, two at a time (``parallel``), all ended here."""
    shared = (world["model"].parent, Path(env["MLX_IFP_CACHE"]))
    cases = {}
    for case, p in selected(request, "test_cli_bad_input").items():
        argv = [a.format(**{k: str(v) for k, v in world.items()}) for a in p["argv"]]
        work = tmp_path_factory.mktemp(case) / "work"
        work.mkdir()
        cases[case] = (argv, p["stdin"], work, listing(work, *shared))
    runs = run_all({c: partial(run_case, a, i, w, env) for c, (a, i, w, _) in cases.items()})
    return {case: (work, before, runs[case]) for case, (_, _, work, before) in cases.items()}


@pytest.mark.parametrize(
    "argv, stdin, fragment",
    [pytest.param(*c[1:], marks=() if c[0] in FAST else pytest.mark.slow) for c in CLI],
    ids=[c[0] for c in CLI],
)
def test_cli_bad_input(world, env, cli_runs, request, argv, stdin, fragment):
    work, before, done = cli_runs[request.node.callspec.id]
    run, took = done.result()
    err = run.stderr.decode(errors="replace")
    assert fragment in one_error(run), err
    watched = (work, world["model"].parent, Path(env["MLX_IFP_CACHE"]))
    assert listing(*watched) == before  # nothing written, nothing half-written
    if argv[0] == "bench":
        assert "dense source" not in err and took < 60  # refused before any benchmarking


def api_cases(world, net, tok):
    gen = lambda **kw: mlx_ifp.generate(net, tok, "t5 t6", **{"max_tokens": 2, **kw})  # noqa: E731
    from mlx_ifp.train import load_config
    from mlx_ifp.train.batches import load_data, read_jsonl, to_example
    from mlx_ifp.train.checkpoint import read_state, verify

    pred = lambda name: mlx_ifp.make_source("predictor", path=str(world[name]))  # noqa: E731
    sft = lambda rec: to_example(rec, tok, "sft")  # noqa: E731
    cfg = lambda **kw: load_config(None, data=str(world["data"]), **kw)  # noqa: E731
    return {
        "prune-None": lambda: mlx_ifp.prune(net, None),
        "prune-path-string": lambda: mlx_ifp.prune(net, str(world["mask"])),
        "generate-mask-path-string": lambda: gen(mask=str(world["mask"])),
        "select-mask-wrong-type": lambda: mlx_ifp.select(net, tok, mask={"k": 3}),
        "max-tokens-minus-5": lambda: gen(max_tokens=-5),
        "max-tokens-0": lambda: gen(max_tokens=0),
        "max-tokens-float": lambda: gen(max_tokens=2.5),
        "temp-negative": lambda: gen(temp=-1.0),
        "temp-nan": lambda: gen(temp=math.nan),
        "top-p-5": lambda: gen(top_p=5),
        "top-p-nan": lambda: gen(top_p=math.nan),
        "repetition-penalty-negative": lambda: gen(repetition_penalty=-1.1),
        "repetition-penalty-nan": lambda: gen(repetition_penalty=math.nan),
        "frequency-penalty-inf": lambda: gen(frequency_penalty=math.inf),
        "presence-penalty-text": lambda: gen(presence_penalty="high"),
        "repetition-context-float": lambda: gen(repetition_context_size=2.5),
        "align-0": lambda: gen(align=0),
        "keep-0": lambda: gen(keep=0),
        "keep-negative": lambda: gen(keep=-0.5),
        "keep-nan": lambda: gen(keep=math.nan),
        "keep-inf": lambda: gen(keep=math.inf),
        "keep-text": lambda: gen(keep="most"),
        "keep-over-ffn": lambda: gen(keep=97),
        "keep-over-1-fraction": lambda: gen(keep=2.5),
        "keep-None": lambda: mlx_ifp.Budget.parse(None),
        "prompt-bytes": lambda: mlx_ifp.generate(net, tok, b"\xff\xfe", max_tokens=2),
        "prompt-None": lambda: mlx_ifp.generate(net, tok, None, max_tokens=2),
        "prompt-int": lambda: mlx_ifp.generate(net, tok, 5, max_tokens=2),
        "prompt-whitespace": lambda: mlx_ifp.generate(net, tok, " \n ", max_tokens=2),
        "prefill-unknown": lambda: gen(prefill="fast"),
        "mask-source-unknown": lambda: gen(mask_source="oracle"),
        "load-truncated-weights": lambda: mlx_ifp.load(str(world["model_truncated"])),
        "load-bad-header": lambda: mlx_ifp.load(str(world["model_bad_header"])),
        "load-empty-weights": lambda: mlx_ifp.load(str(world["model_empty_weights"])),
        "load-config-not-json": lambda: mlx_ifp.load(str(world["model_config_not_json"])),
        "load-config-a-list": lambda: mlx_ifp.load(str(world["model_config_list"])),
        "load-config-no-model-type": lambda: mlx_ifp.load(str(world["model_no_type"])),
        "load-no-weights": lambda: mlx_ifp.load(str(world["model_no_weights"])),
        "load-gguf-text-file": lambda: mlx_ifp.load(str(world["text_gguf"])),
        "load-gguf-huge-counts": lambda: mlx_ifp.load(str(world["counts_gguf"])),
        "load-adapter-truncated": lambda: mlx_ifp.load(
            str(world["model"]), adapter_path=str(world["adapter_truncated"])
        ),
        "load-adapter-weights-missing": lambda: mlx_ifp.load(
            str(world["model"]), adapter_path=str(world["adapter_no_weights"])
        ),
        "load-adapter-weights-missing-unrecorded": lambda: mlx_ifp.load(
            str(world["model"]), adapter_path=str(world["adapter_no_weights_unrecorded"])
        ),
        "mask-truncated": lambda: mlx_ifp.Mask.load(world["mask_truncated"]),
        "mask-bad-header": lambda: mlx_ifp.Mask.load(world["mask_bad_header"]),
        "mask-sidecar-a-list": lambda: mlx_ifp.Mask.load(world["mask_sidecar_list"]),
        "mask-indices-out-of-range": lambda: mlx_ifp.Mask.load(world["mask_out_of_range"]),
        "mask-other-model": lambda: mlx_ifp.Mask.load(world["mask_other_model"], net),
        "predictor-corrupted": lambda: gen(mask_source=pred("adapter_bad_predictor")),
        "predictor-other-model": lambda: gen(mask_source=pred("predictor_other_model")),
        "checkpoint-state-not-json": lambda: read_state(world["ckpt_bad_state"]),
        "checkpoint-checksum": lambda: verify(world["ckpt_corrupt"]),
        "jsonl-malformed": lambda: read_jsonl(world["data_malformed"] / "train.jsonl"),
        "jsonl-not-utf8": lambda: read_jsonl(world["data_not_utf8"] / "train.jsonl"),
        "record-wrong-keys": lambda: sft({"question": "t5"}),
        "record-messages-not-a-list": lambda: sft({"messages": "t5 t6"}),
        "record-messages-not-dicts": lambda: sft({"messages": [1, 2]}),
        "record-no-assistant-turn": lambda: sft({"messages": [{"role": "user", "content": "t5"}]}),
        "record-text-in-sft": lambda: sft({"text": "t5 t6"}),
        "data-folder-missing": lambda: load_data("/no/such/data", tok, "sft", 32),
        "data-folder-without-splits": lambda: load_data(world["data_no_splits"], tok, "sft", 32),
        "data-train-empty": lambda: load_data(world["data_empty"], tok, "sft", 32),
        "yaml-unknown-key": lambda: load_config(world["yaml_unknown"]),
        "config-unknown-predictor-key": lambda: cfg(predictor={"depth": 3}),
        "config-keep-0": lambda: cfg(keep="0"),
        "config-save-every-0": lambda: cfg(save_every=0),
        "config-lr-text": lambda: cfg(learning_rate="fast"),
    }


API_IDS = list(api_cases({}, None, None))


@pytest.mark.parametrize("case", API_IDS)
def test_api_bad_input(world, tiny, case):
    net, tok = tiny
    before = listing(world["model"].parent)
    with pytest.raises(UsageError) as e:
        api_cases(world, net, tok)[case]()
    assert "\n" not in str(e.value).strip()  # one line
    assert listing(world["model"].parent) == before


def test_the_counts_asked_for():
    assert len(CLI) >= 40 and len({c[0] for c in CLI}) == len(CLI) and FAST <= {c[0] for c in CLI}
    assert len(API_IDS) >= 40
