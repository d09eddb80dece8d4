"""The thirty-sixth session's hunt in `export` (alias `convert`), `bench`, `info` and `plot`.

- `export -o SLIM.GGUF` wrote a GGUF file (the format is read off the name, case aside), and
  the loader took the name for a GGUF file too, but read it with `mx.load`, which picks the
  format by the suffix as written: "Unknown file format GGUF", so `generate`, `info` and
  `mlx_ifp.load` refused the file the export had just written.
- `export --mask-source predictor` on the embedded model ("needs a trained predictor's folder:
  --adapter DIR ... an embedded model uses its own") and `export --adapter default` ("adapter
  folder not found: default") refused the shipped predictor by the names `generate` takes it by.
- A flag given as "" (`--plot "$P"` with P unset) was read as not given: `bench --plot ""` ran
  the whole benchmark and wrote no plot, `export --format ""` took the format from the name,
  `plot overlap --data ""` built (or reused) the cached corpus; `-o ""` was refused.
- `export -p -` picked the mask from the one-character prompt "-", where `generate -p -` (and
  the same flag's help there) reads the prompt from stdin: `cat p.txt | mlx_ifp export -p -`
  wrote the slim model of another text, exit 0.
"""

import hashlib
import json

import mlx_ifp
from mlx_ifp.core import d_ffn

import mlx.core as mx
import pytest
from bad_world import never_called, one_error
from test_review_s32_cli import cli
from test_review_s34_export import bpe_folder

gguf = pytest.importorskip("gguf")
TOKENS = mx.array([[1, 40, 7, 250, 99, 3, 17, 2, 5, 120, 64]])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny llama folder with a byte-level BPE tokenizer (GGUF can take it)."""
    root = tmp_path_factory.mktemp("s36export")
    return {"root": root, "model": bpe_folder(root)}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))


def test_an_export_named_in_capitals_gguf_loads_back(world, tmp_path, cache):
    """`export -o slim.GGUF` wrote a GGUF file that `mlx_ifp.load` (and so `generate` and
    `info --model`) refused: "cannot read GGUF file ... (Unknown file format GGUF)"."""
    out = tmp_path / "slim.GGUF"
    run = cli("export", "--model", world["model"], "-o", out, "--keep", "64")
    assert run.returncode == 0, run.stderr
    assert out.read_bytes()[:4] == b"GGUF"
    net, _ = mlx_ifp.load(str(out))
    assert d_ffn(net) == 64
    assert net(TOKENS).shape[-1] == 300


@pytest.mark.parametrize(
    "flags", [["--mask-source", "predictor"], ["--adapter", "default"]], ids=["source", "adapter"]
)
def test_the_shipped_predictor_by_the_names_generate_takes(tmp_path, flags):
    """`generate -p X --mask-source predictor` (or `--adapter default`) runs the embedded model's
    shipped predictor + LoRA; `export` with the same flags exited 2 ("needs a trained
    predictor's folder: --adapter DIR", "adapter folder not found: default")."""
    from mlx_ifp.models import default_adapter

    shipped = default_adapter("smollm2-135m-instruct")
    out = tmp_path / "slim"
    run = cli("export", "--task", "Solve grade-school math problems.", *flags, "-o", out)
    assert run.returncode == 0, run.stderr
    made = json.loads((out / "config.json").read_text())["mlx_ifp"]
    name = shipped.name  # (s49: its name and hash, not this machine's path)
    assert made["mask_source"] == f"predictor({name})" and made["adapter"] == name
    weights = (shipped / "adapters.safetensors").read_bytes()
    assert made["adapter_sha256"] == hashlib.sha256(weights).hexdigest()[:16]
    assert made["k"] == 768


def test_a_flag_given_empty_is_refused_not_ignored(world, tmp_path, monkeypatch):
    """`bench --plot ""` benchmarked and wrote no plot (exit 0), `export --format ""` wrote the
    format the name says, `plot overlap --data ""` read the cached corpus: "$VAR" unset."""
    import mlx_ifp.bench
    import mlx_ifp.data

    monkeypatch.setattr(mlx_ifp.bench, "bench", never_called)
    monkeypatch.setattr(mlx_ifp.data, "build", never_called)
    monkeypatch.setattr(mlx_ifp, "load", never_called)
    run = cli("bench", "--preset", "tiny", "--plot", "", "-o", tmp_path / "b.json")
    assert "--plot is empty" in one_error(run)
    run = cli("export", "--model", world["model"], "--format", "", "-o", tmp_path / "slim")
    assert "--format is empty" in one_error(run)
    for flag in ("--data", "--adapter"):
        run = cli("plot", "overlap", flag, "", "-o", tmp_path / "o.png")
        assert f"{flag} is empty" in one_error(run)
    assert not list(tmp_path.iterdir())


def test_export_reads_the_prompt_from_stdin_as_generate_does(world, tmp_path):
    """`export -p - < prompt.txt` recorded the mask of the text "-" (its text_hash), not of the
    prompt read from stdin as `generate -p -` does."""
    from mlx_ifp.cli import app

    from typer.testing import CliRunner

    text = "t5 t9 t12 t40 t7 t3"
    made = {}
    for name, flag, stdin in (("stdin", "-", text), ("given", text, None)):
        out = tmp_path / name
        args = ["export", "--model", str(world["model"]), "--mask-source", "griffin",
                "--keep", "64", "-p", flag, "-o", str(out)]  # fmt: skip
        run = CliRunner().invoke(app, args, input=stdin)
        assert run.exit_code == 0, run.output
        made[name] = json.loads((out / "config.json").read_text())["mlx_ifp"]
    assert made["stdin"]["text_hash"] == made["given"]["text_hash"]
    assert made["stdin"]["mask"] == made["given"]["mask"]
