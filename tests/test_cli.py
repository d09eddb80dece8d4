"""The mlx_ifp command line, run as a user runs it (a subprocess), on the real model."""

import os
import subprocess
import sys
from functools import partial

from mlx_ifp.core.mask import Mask

import mlx.core as mx
import pytest
from parallel import run_all, selected

pytestmark = pytest.mark.real


def cli(*args, stdin=None):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mlx_ifp", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def assert_usage_error(run, fragment):
    assert run.returncode == 2, (run.returncode, run.stderr[-1500:])
    assert "Traceback" not in run.stderr
    lines = [x for x in run.stderr.splitlines() if x.strip()]
    assert any(fragment in x for x in lines), run.stderr


def test_generate_streams_and_reports(smollm2_dir):
    run = cli("generate", "-p", "What is the capital of France?", "--keep", "1.0", "-m", "20")
    assert run.returncode == 0, run.stderr
    assert "Paris" in run.stdout
    assert "Active parameters" in run.stderr and "tokens-per-sec" in run.stderr


def test_generate_at_keep_033_names_its_own_predictor(smollm2_dir):
    run = cli("generate", "-p", "Solve 12 * 7.", "--keep", "0.33", "-m", "4")
    assert run.returncode == 0, run.stderr
    assert "smollm2-135m-instruct-k0.33" in run.stderr and "507/1536" in run.stderr
    assert "Warning" not in run.stderr  # trained for this budget: no mismatch


def test_generate_picks_the_predictor_by_the_aligned_budget(smollm2_dir):
    """--keep 0.4 alone is nearer the keep-0.33 predictor; aligned to 256 it is 768 channels,
    the default's own budget (the CLI once chose by the unaligned count, then warned)."""
    run = cli("generate", "-p", "hi", "--keep", "0.4", "--align", "256", "-m", "2")
    assert run.returncode == 0, run.stderr
    assert "768/1536" in run.stderr and "-k0.33" not in run.stderr
    assert "Warning" not in run.stderr


def test_task_mask_save_and_reuse(smollm2_dir, tmp_path):
    path = tmp_path / "geo"
    run = cli(
        "generate",
        "-p",
        "-",
        "--task",
        "Answer geography questions.",
        "--keep",
        "0.5",
        "-m",
        "8",
        "--save-mask",
        str(path),
        stdin="Name a river in Europe.",
    )
    assert run.returncode == 0, run.stderr
    mask = Mask.load(path.with_suffix(".safetensors"))
    assert mask.k == 768 and mask.source.startswith("predictor")  # the shipped default
    again = cli("generate", "-p", "Name a river.", "--mask", str(path), "-m", "8")
    assert again.returncode == 0, again.stderr
    assert "768/1536" in again.stderr


@pytest.fixture(scope="module")
def bad_runs(request, smollm2_dir):
    """Case id -> the future of its ``generate`` run, for the selected cases of the table below:
    two at a time (``parallel``), all ended here."""
    cases = selected(request, "test_bad_input_is_one_line_exit_2")
    return run_all({c: partial(cli, "generate", *p["args"]) for c, p in cases.items()})


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--model", "/no/such/model", "-p", "hi"], "not found"),
        (["--model", "missing.gguf", "-p", "hi"], "GGUF file not found"),
        (["-p", "hi", "--keep", "0"], "--keep must be > 0"),
        (["-p", "hi", "--keep", "1.5"], "neither a fraction"),
        (["-p", "hi", "--keep", "5000"], "more than the 1536"),
        (["-p", "   "], "prompt is empty"),
        (["-p", "hi", "--mask-source", "oracle"], "unknown mask source"),
        (["-p", "hi", "--prefill", "fast"], "prefill must be one of"),
        (["-p", "hi", "--repick", "-3"], "--repick must be 0"),
        (
            ["-p", "hi", "--repick", "8", "--mask-source", "static"],
            "reads no text: leave out --repick",
        ),
        (["-p", "hi", "--repick", "8", "--task", "Do math."], "per-prompt mask"),
    ],
)
def test_bad_input_is_one_line_exit_2(bad_runs, request, args, fragment):
    assert_usage_error(bad_runs[request.node.callspec.id].result(), fragment)


def test_prompt_longer_than_context(smollm2_dir):
    assert_usage_error(cli("generate", "-p", "-", stdin="hello " * 9000), "context")


def test_mask_for_another_model(smollm2_dir, tmp_path):
    four = mx.broadcast_to(mx.arange(4, dtype=mx.int32), (2, 4))  # (distinct: a mask saves)
    fake = Mask(four, 16, {"model_type": "llama", "d_ffn": 16})
    fake.save(tmp_path / "other")
    run = cli("generate", "-p", "hi", "--mask", str(tmp_path / "other"))
    assert_usage_error(run, "another model")


def test_unsupported_gguf(tmp_path):
    path = tmp_path / "gpt2.gguf"
    mx.save_gguf(
        str(path), {"token_embd.weight": mx.zeros((4, 4))}, {"general.architecture": "gpt2"}
    )
    assert_usage_error(cli("generate", "--model", str(path), "-p", "hi"), "not supported")
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())


def test_convert_writes_a_slim_mlx_lm_folder(smollm2_dir, tmp_path):
    out = tmp_path / "slim"
    run = cli("convert", "-o", str(out), "--keep", "0.25", "--task", "Solve math problems.")
    assert run.returncode == 0, run.stderr
    import json

    assert json.loads((out / "config.json").read_text())["intermediate_size"] == 384
    gen = subprocess.run(
        [sys.executable, "-m", "mlx_lm", "generate", "--model", str(out), "-p", "2+2=", "-m", "4"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert gen.returncode == 0, gen.stderr[-1500:]
    assert_usage_error(cli("convert", "--keep", "0.5"), "--output")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slim"]


def test_info_names_the_blas_and_checks_packed_matmuls():
    run = cli("info")
    assert run.returncode == 0 and "blas" in run.stdout
    assert "packed matmul check  pass: quantized_matmul vs dequantize + matmul" in run.stdout
    assert "smollm2-135m-instruct: keep 0.5 (768 channels), keep 0.33 (507 channels)" in run.stdout
    if sys.platform.startswith("linux"):
        assert "openblas" in run.stdout, run.stdout


def test_info_says_whether_malloc_has_huge_pages():
    from mlx_ifp.models import device

    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    row = {}
    for tunables in ("", device.HUGEPAGES_TUNABLE):
        run = subprocess.run(
            [sys.executable, "-m", "mlx_ifp", "info"],
            capture_output=True, text=True, timeout=600, env={**env, "GLIBC_TUNABLES": tunables},
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-800:]
        row[tunables] = next(x for x in run.stdout.splitlines() if x.startswith("huge pages"))
    if device.huge_pages_available():
        assert row[""].split()[2] == "off" and row[device.HUGEPAGES_TUNABLE].split()[2] == "on", row
    else:
        assert all("not available" in r for r in row.values()), row


def test_finetune_then_generate_with_adapter(smollm2_dir, tmp_path):
    import json

    rows = [
        {"prompt": f"What is {a} plus {a}?", "completion": f"{a} plus {a} is {2 * a}."}
        for a in range(12)
    ]
    data = tmp_path / "data"
    data.mkdir()
    for split, part in (("train", rows[:8]), ("valid", rows[8:])):
        (data / f"{split}.jsonl").write_text("\n".join(json.dumps(r) for r in part) + "\n")
    out = tmp_path / "adapter"
    run = cli(
        "finetune",
        "--data",
        str(data),
        "-o",
        str(out),
        "--train",
        "lora",
        "--lora-rank",
        "4",
        "--lora-layers",
        "3",
        "--iters",
        "2",
        "--batch-size",
        "2",
        "--keep",
        "0.25",
        "--max-seq-length",
        "64",
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert (out / "predictor.safetensors").is_file() and (out / "adapters.safetensors").is_file()
    lora = json.loads((out / "adapter_config.json").read_text())
    assert (lora["num_layers"], lora["lora_parameters"]["rank"]) == (3, 4)
    gen = cli("generate", "--adapter", str(out), "-p", "What is 3 plus 3?", "-m", "5")
    assert gen.returncode == 0, gen.stderr[-2000:]
    assert "predictor(" in gen.stderr and "384/1536" in gen.stderr
    assert_usage_error(
        cli("generate", "--adapter", str(tmp_path / "none"), "-p", "hi"), "adapter folder not found"
    )


def test_export_mlx_and_gguf_record_their_mask(smollm2_dir, tmp_path):
    """`export` writes an mlx-lm folder or a GGUF, each naming its source, mask and budget."""
    import json

    import mlx_ifp
    from mlx_ifp.core import ffn

    folder, gguf = tmp_path / "slim", tmp_path / "slim.gguf"
    task = ["--task", "Solve grade-school math problems.", "--keep", "0.5"]
    run = cli("export", *task, "-o", str(folder))
    assert run.returncode == 0, run.stderr
    meta = json.loads((folder / "config.json").read_text())["mlx_ifp"]
    assert (
        meta["k"] == 768 and meta["source"] == "smollm2-135m-instruct" and len(meta["mask"]) == 16
    )
    run = cli("export", *task, "--format", "gguf", "--gguf-type", "q8_0", "-o", str(gguf))
    assert run.returncode == 0, run.stderr
    net, _ = mlx_ifp.load(str(gguf))
    assert ffn.d_ffn(net) == 768
    bad = cli("export", "--format", "onnx", "-o", str(tmp_path / "x"))
    assert_usage_error(bad, "--format must be mlx or gguf")
