"""Review (s37): leads from earlier reviews in `export`, `load`, `bench`, `eval` and `plot`.

Each test failed on the code it was written against, for the reason in its docstring.

- `export --format GGUF` / `--gguf-type Q8_0` (llama.cpp's spelling) were refused.
- `load(..., dequantize="no")` dequantized (any truthy value was "yes"); `lazy="no"` alike.
- `bench --align 100000 --keep 0.5` rounded k up to the whole FFN: nothing pruned, every ratio
  1.000, the JSON still saying keep 0.5.
- `eval --adapter R=~/run`, `plot overlap --adapter ~/run` (quoted) and `adapted_copy(m,
  "~/run")` did not expand `~`, as generate, export and `load` do.
- `export -o notes.gguf` replaced an existing file that is no GGUF file (a text file).
- `bench --plot --variants h` ran the whole bench for an empty plot; `--variants d` drew none
  of its (decoded) numbers.
- `plot overlap --report R` and `plot quality --data D` ignored the other plot's flag.
"""

import warnings

import mlx_ifp
import mlx_ifp.bench.run as bench_run
from mlx_ifp import UsageError
from mlx_ifp.bench import plot as bench_plot
from mlx_ifp.models import adapted_copy

import pytest
from bad_world import never_called, no_model_load, one_error
from test_review_s32_cli import cli
from tiny import finetune_folder, save_folder, tiny_model

gguf = pytest.importorskip("gguf")


@pytest.fixture(scope="module")
def bpe(tmp_path_factory):
    """A tiny llama folder with a byte-level BPE tokenizer (GGUF export takes it), loaded."""
    from test_review_s34_export import bpe_folder

    folder = bpe_folder(tmp_path_factory.mktemp("s37leads"))
    net, tok = mlx_ifp.load(str(folder))
    return folder, net, tok


def file_type(path) -> int:
    reader = gguf.GGUFReader(str(path))
    return int(reader.fields["general.file_type"].parts[-1][0])


def test_export_takes_gguf_format_and_type_in_upper_case(bpe, tmp_path):
    """`--format GGUF` was "--format must be mlx or gguf", `--gguf-type Q8_0` "must be f16,
    q8_0, q4_0": llama.cpp (and its users) write the type names in upper case."""
    folder, net, tok = bpe
    out = tmp_path / "slim"
    run = cli("export", "--model", folder, "--format", "GGUF", "--gguf-type", "Q8_0", "-o", out)
    assert run.returncode == 0, run.stderr
    assert file_type(out) == gguf.LlamaFileType.MOSTLY_Q8_0
    path = mlx_ifp.export_gguf(net, tok, tmp_path / "api.gguf", "Q4_0")  # the API alike
    assert file_type(path) == gguf.LlamaFileType.MOSTLY_Q4_0


@pytest.mark.parametrize("flag", ["dequantize", "lazy"])
def test_load_refuses_a_bool_flag_that_is_not_a_bool(tmp_path, flag):
    """`load(m, dequantize="no")` dequantized: the value's truthiness was taken as a yes."""
    folder = save_folder(tiny_model(), tmp_path / "m")
    with pytest.raises(UsageError, match=f"{flag} must be True or False"):
        mlx_ifp.load(str(folder), **{flag: "no"})


def test_bench_refuses_an_align_that_leaves_nothing_pruned(monkeypatch):
    """`--align 100000 --keep 0.5` measured the dense model as the "slim" one (k rounded up to
    the whole FFN width), reporting keep 0.5 with every ratio 1.000."""
    monkeypatch.setattr(bench_run, "build", never_called)
    error = one_error(cli("bench", "--preset", "135m", "--align", "100000", "--keep", "0.5"))
    assert "--align 100000" in error and "nothing is pruned" in error
    assert bench_run._once([mlx_ifp.Budget(0.5, 32)], ["0.5"], 96, print)[0] == [64]  # still
    with pytest.raises(UsageError, match="nothing is pruned"):
        bench_run._once([mlx_ifp.Budget(0.95, 64)], ["0.95"], 96, print)


@pytest.fixture
def home_run(tmp_path, monkeypatch):
    """``~/run``: a finetune folder for ``tiny_model()`` in a fresh HOME."""
    monkeypatch.setenv("HOME", str(tmp_path))
    return finetune_folder(tiny_model(), tmp_path / "run", k=48)


def reached_the_model(*_, **__):
    raise UsageError("reached the model")


def test_eval_and_plot_expand_a_quoted_tilde_in_adapter(home_run, tmp_path, monkeypatch):
    """`eval --adapter r=~/run` and `plot overlap --adapter ~/run` (no shell expanding it):
    "folder not found: ~/run"; generate, export and `load` take it."""
    monkeypatch.setattr(mlx_ifp, "check_model", reached_the_model)  # past the adapter checks
    assert "reached the model" in one_error(cli("eval", "--adapter", "r=~/run"))
    png = tmp_path / "o.png"
    run = cli("plot", "overlap", "--mask-source", "predictor", "--adapter", "~/run", "-o", png)
    assert "reached the model" in one_error(run)


def test_adapted_copy_expands_a_tilde(home_run):
    """`adapted_copy(model, "~/run")` was "adapter folder not found: ~/run"."""
    net = adapted_copy(tiny_model(), "~/run")
    assert mlx_ifp.models.trained_llm(home_run) == "lora" and net is not None


def test_export_does_not_replace_a_file_that_is_not_gguf(bpe, tmp_path, monkeypatch):
    """`export -o notes.gguf` over a text file replaced it with the model: an earlier GGUF
    export is replaced (as documented), any other file is the user's."""
    folder, net, tok = bpe
    notes = tmp_path / "notes.gguf"
    notes.write_text("my notes\n")
    with monkeypatch.context() as m:
        no_model_load(m)
        assert "not GGUF" in one_error(cli("export", "--model", folder, "-o", notes))
        assert "not GGUF" in one_error(cli("export", "--model", folder, "--format", "gguf",
                                           "-o", notes))  # fmt: skip
    with pytest.raises(UsageError, match="not GGUF"):
        mlx_ifp.export_gguf(net, tok, notes)
    assert notes.read_text() == "my notes\n"
    old = mlx_ifp.export_gguf(net, tok, tmp_path / "old.gguf")  # an earlier export: replaced
    assert mlx_ifp.export_gguf(net, tok, old, "q8_0") == old
    assert file_type(old) == gguf.LlamaFileType.MOSTLY_Q8_0


def test_bench_plot_refuses_variants_without_decode_speeds(tmp_path, monkeypatch):
    """`--plot P --variants h` ran the whole bench, then wrote an empty plot (matplotlib's "No
    artists with labels" warning the only sign)."""
    monkeypatch.setattr(bench_run, "build", never_called)
    run = cli("bench", "--preset", "135m", "--variants", "h", "--plot", tmp_path / "p.png")
    assert "--variants h" in one_error(run)


def test_bench_plot_draws_the_cached_slim_model(tmp_path):
    """`--plot P --variants d` plotted nothing: (d)'s decode speeds were not drawn."""
    cached = {"d_cached": {"hit_s": 1e-4, "decode_tps": 50.0}}
    result = {"model": "m", "device": "cpu", "dtype": "float32", "d_ffn": 96,
              "runs": [{"k": 48, "ideal_ratio": 1.5, "variants": cached}]}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "No artists with labels found to put in legend"
        assert bench_plot(result, tmp_path / "p.png").is_file()


def test_plot_refuses_the_other_plots_flags(tmp_path, monkeypatch):
    """`plot overlap --report R` and `plot quality --data D` ran, the flag ignored."""
    monkeypatch.setattr(mlx_ifp, "check_model", never_called)
    png = tmp_path / "o.png"
    error = one_error(cli("plot", "overlap", "--report", tmp_path / "r.json", "-o", png))
    assert "--report is for `plot quality`" in error
    assert "--metric" in one_error(cli("plot", "overlap", "--metric", "kl", "-o", png))
    run = cli("plot", "quality", "--report", tmp_path / "r.json", "--data", tmp_path, "-o", png)
    assert "--data is for `plot overlap`" in one_error(run)
    run = cli("plot", "quality", "--report", tmp_path / "r.json", "-n", 4, "-o", png)
    assert "-n is for `plot overlap`" in one_error(run)
