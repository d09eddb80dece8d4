"""Review (s45): `mlx_ifp finetune` against what an `mlx_lm lora` user expects of it.

- `finetune --train full` of a quantized (packed) model kept packed: `--no-dequantize`, or any
  full run on a GPU (where models load packed by default; the embedded SmolLM2 is a Q4_1 GGUF):
  a `RuntimeError: [QuantizedMatmul::vjp] no gradient wrt the quantized weights` traceback
  at the first step. A full run now unpacks its source by default; kept packed it is refused in
  one line before any work (`finetune(cfg, model=packed)` from the API too).
- `generate --adapter FULL_RUN` (`mlx_ifp.load(M, adapter_path=FULL_RUN)`, `eval --adapter`,
  `export --adapter`) on the quantized model the full run was trained from: `could not load
  adapters ...: adapter shape (32, 64) does not match model parameter shape (32, 8)`, on the CPU
  too (the adapters went on before the model was unpacked). A full run's float weights replace
  the packed ones: the model is unpacked first (lazily: nothing is computed for them).
- An `mlx_lm lora` YAML brought as it is: `num_layers`, `fine_tune_type`, `lora_parameters`,
  `mask_prompt`, `adapter_path`, `grad_accumulation_steps`, `steps_per_eval`, ... were refused
  as "unknown config key(s)" with no word of this command's name for them (or that stage 2
  already scores the reply alone, mlx_lm's `mask_prompt`); `train: true` (mlx_lm's "do train")
  was "train must be one of frozen, lora, full"; `lr_schedule: {name: cosine_decay, ...}` gave
  the same bare list; `data: mlx-community/WikiSQL` (mlx_lm: a Hugging Face dataset) was "data
  folder not found", as if the name were mistyped. Each line now says what this command reads.
- mlx_lm lora's command line, `finetune --model M --train --data D`: "Got unexpected extra
  argument(s) (D)" (`--train` took `--data` as its value); `--mask-prompt`, `--num-layers`,
  `--adapter-path`, ...: "No such option" alone. Each now says what it is here.

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import importlib
import os
import subprocess
import sys
from pathlib import Path

import mlx_ifp
from mlx_ifp import UsageError
from mlx_ifp.cli import app
from mlx_ifp.models import adapted_copy
from mlx_ifp.train import finetune, load_config
from mlx_ifp.train.batches import check_data

import mlx.core as mx
import pytest
from bad_world import words_data
from tiny import save_folder, tiny_model
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["--iters", "1", "--batch-size", "2", "--max-seq-length", "32", "--val-every", "0"]


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    """A 4-bit tiny model folder, its data, and a full run trained from it (unpacked)."""
    root = tmp_path_factory.mktemp("hft")
    model = save_folder(tiny_model("llama", quantize=True), root / "q", quantized=True)
    data = words_data(root / "data")
    out = root / "full"
    cfg = load_config(
        model=str(model),
        data=str(data),
        output=str(out),
        train="full",
        quiet=True,
        iters=1,
        batch_size=2,
        max_seq_length=32,
        val_every=0,
        dequantize=True,
    )
    finetune(cfg)
    return {"model": model, "data": data, "full": out, "root": root}


def cli(*args, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mlx_ifp", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=180,
    )


def full_run(packed, out, *flags) -> list[str]:
    """`finetune --train full` of the packed model into ``out``, ``flags`` before the rest."""
    data = ["--data", str(packed["data"]), "-o", str(out)]
    return ["finetune", "--model", str(packed["model"]), *data, "--train", "full", *flags, *SMALL]


def test_full_run_of_a_packed_model_kept_packed_is_one_line(packed, tmp_path):
    """`--train full --no-dequantize` of a 4-bit model: a QuantizedMatmul::vjp traceback."""
    run = cli(*full_run(packed, tmp_path / "o", "--no-dequantize"))
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2 and len(lines) == 1, run.stderr[-600:]
    assert lines[0].startswith("Error:") and "--dequantize" in lines[0] and "lora" in lines[0]
    assert not (tmp_path / "o").exists()


def test_full_run_from_the_api_of_a_packed_model_is_refused(packed, tmp_path):
    """`finetune(cfg, model=packed_model)` with train full: the same traceback."""
    net, tok = mlx_ifp.load(str(packed["model"]), dequantize=False)
    cfg = load_config(
        model=str(packed["model"]),
        data=str(packed["data"]),
        train="full",
        output=str(tmp_path / "o"),
        iters=1,
        batch_size=2,
        val_every=0,
        quiet=True,
    )
    with pytest.raises(UsageError, match="packed"):
        finetune(cfg, net, tok)


def test_full_run_unpacks_its_source_by_default(packed, tmp_path, monkeypatch):
    """Where models load packed by default (a GPU; here the CPU told it is not one), a full run
    of a packed model with no --dequantize flag: the traceback. It now trains, unpacked."""
    resolve = importlib.import_module("mlx_ifp.models.resolve")  # (not the function)
    monkeypatch.setattr(resolve, "on_cpu", lambda: False)
    out = tmp_path / "o"
    run = CliRunner().invoke(app, full_run(packed, out))
    assert run.exit_code == 0, (run.output, run.exception)
    assert (out / "adapters.safetensors").is_file()


def logits(net, tok):
    ids = mx.array([tok.encode("t5 t6 t7")])
    return net(ids)[0, -1]


@pytest.mark.parametrize("dequantize", [None, False, True])
def test_a_full_run_loads_onto_its_packed_source(packed, dequantize):
    """`load(packed_source, adapter_path=full_run)`: "adapter shape (32, 64) does not match
    model parameter shape (32, 8)", whatever `dequantize` said. Every weight is the run's."""
    net, tok = mlx_ifp.load(
        str(packed["model"]), adapter_path=str(packed["full"]), dequantize=dequantize
    )
    ref, _ = mlx_ifp.load(str(packed["model"]), dequantize=True)
    ref.load_weights(str(packed["full"] / "adapters.safetensors"))  # the run's weights, all
    assert mx.allclose(logits(net, tok), logits(ref, tok), atol=1e-4).item()
    assert not any(type(m).__name__.startswith("Quantized") for _, m in net.named_modules())


def test_a_full_run_applies_to_a_copy_of_its_packed_source(packed):
    """`adapted_copy(packed_model, full_run)` (eval --adapter, the pruner's adapted copy):
    the same shape error; the original stays packed."""
    net, tok = mlx_ifp.load(str(packed["model"]), dequantize=False)
    copy = adapted_copy(net, packed["full"])
    names = lambda m: {type(x).__name__ for _, x in m.named_modules()}  # noqa: E731
    assert "QuantizedLinear" in names(net) and "QuantizedLinear" not in names(copy)
    run = cli(
        "generate",
        "--model",
        str(packed["model"]),
        "--adapter",
        str(packed["full"]),
        "--no-dequantize",
        "-p",
        "t5 t6",
        "-m",
        "2",
        "--mask-source",
        "static",
    )
    assert run.returncode == 0, run.stderr[-600:]


MLX_LM_YAML = [
    ("num_layers: 8", "is lora_layers"),
    ("fine_tune_type: lora", "is train"),
    ("lora_parameters: {rank: 4, scale: 10.0}", "lora_rank"),
    ("mask_prompt: true", "reply"),
    ("adapter_path: adapters", "is output"),
    ("grad_accumulation_steps: 2", "is grad_accumulation"),
    ("steps_per_eval: 20", "val_every"),
    ("resume_adapter_file: adapters/adapters.safetensors", "is resume"),
    ("optimizer: adamw", "AdamW"),
    ("train: true", "leave it out"),
    ("lr_schedule: {name: cosine_decay, arguments: [1.0e-5, 100], warmup: 10}", "warmup"),
    ("data: mlx-community/WikiSQL", "Hugging Face"),
]


@pytest.mark.parametrize("line, said", MLX_LM_YAML, ids=[c[0].split(":")[0] for c in MLX_LM_YAML])
def test_an_mlx_lm_yaml_key_is_refused_with_this_commands_name(packed, tmp_path, line, said):
    """An `mlx_lm lora` config key: "unknown config key(s): num_layers", no word of ours."""
    head = f"model: {packed['model']}\ndata: {packed['data']}\noutput: {tmp_path / 'o'}\n"
    if line.startswith("data:"):
        head = head.replace(f"data: {packed['data']}\n", "")
    (tmp_path / "c.yaml").write_text(head + "iters: 1\nbatch_size: 2\n" + line + "\n")
    with pytest.raises(UsageError) as e:
        check_data(load_config(tmp_path / "c.yaml").data)
    assert said in str(e.value) and "\n" not in str(e.value), str(e.value)


MLX_LM_FLAGS = [
    (["--train", "--data", "d"], "leave it out"),  # mlx_lm lora's canonical command line
    (["--train"], "leave it out"),
    (["--mask-prompt"], "reply alone"),
    (["--num-layers", "4"], "is lora_layers"),
    (["--adapter-path", "a"], "is output"),
    (["--steps-per-eval", "5"], "is val_every"),
]


@pytest.mark.parametrize("flags, said", MLX_LM_FLAGS, ids=[" ".join(c[0]) for c in MLX_LM_FLAGS])
def test_an_mlx_lm_flag_is_refused_with_what_it_is_here(capsys, flags, said):
    """`finetune --model M --train --data D` (mlx_lm lora's `--train` switch): "Got unexpected
    extra argument(s) (D)"; `--mask-prompt`: "No such option" with no word that stage 2 already
    scores the reply alone; `--adapter-path`: "(Possible options: --data)"."""
    from mlx_ifp.cli import main

    with pytest.raises(SystemExit) as e:
        main(["finetune", "--model", "m", *flags])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and len(err.splitlines()) == 1 and err.startswith("Error:"), err
    assert said in err, err
