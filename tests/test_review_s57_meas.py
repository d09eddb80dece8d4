"""Review (s57, `mlx_ifp bench`, `eval` and `plot` as a user comparing pruned against dense on
their own model runs them).

Each test failed on the code it was written against, for the reason in its docstring.

- `plot overlap --mask-source predictor --adapter RUN` (RUN a finetune folder trained to keep
  24 of 96 channels) drew and wrote the masks cut at keep 0.5, the flag's default: not the
  budget the predictor was trained for, which `generate` and `export` use when `--keep` is left
  out, and with no word said (they warn when `--keep` differs from it); `mask_overlap(...,
  "predictor")` likewise.
- `bench --variants ac` logged "(a), (c) and (f) in alternating trials" ((f) was not run), and
  `bench --variants c -r 1` (or `d`, `b`...) titled its table "median of 1, alternating trials
  3", though no variant had alternated: the figures were of one trial each.
"""

import json

import mlx_ifp
from mlx_ifp import evaluation
from mlx_ifp.bench import bench, print_tables

import pytest
from test_review_s45_heval2 import cli
from tiny import finetune_folder


@pytest.fixture(scope="module")
def trained(cli_world, tmp_path_factory):
    """(the tiny model's folder, the corpus, a predictor + LoRA folder trained at k 24 of 96)."""
    model, corpus = cli_world
    net, _ = mlx_ifp.load(str(model))
    return model, corpus, finetune_folder(net, tmp_path_factory.mktemp("s57m") / "run", 24)


def overlap(trained, tmp_path, *flags):
    model, corpus, run = trained
    png = tmp_path / "o.png"
    args = ["plot", "overlap", "--model", model, "--data", corpus, "-o", png, "-n", "2"]
    result = cli(*args, "--groups", "1", "--mask-source", "predictor", "--adapter", run, *flags)
    assert result.exit_code == 0, result.output
    return json.loads(png.with_suffix(".json").read_text()), result.stderr


def test_plot_overlap_of_a_predictor_defaults_to_its_trained_budget(trained, tmp_path):
    """No --keep: keep 0.5 (48 channels) was drawn, where generate uses the trained 24."""
    numbers, err = overlap(trained, tmp_path)
    assert numbers["keep"] == 0.25 and "trained to keep" not in err, (numbers["keep"], err)


def test_plot_overlap_of_a_predictor_at_another_keep_warns(trained, tmp_path):
    """--keep 0.5 of a predictor trained at 24: drawn as asked, but silently (generate warns)."""
    numbers, err = overlap(trained, tmp_path, "--keep", "0.5")
    assert numbers["keep"] == 0.5
    line = [x for x in err.splitlines() if "trained to keep" in x]  # (one: not each prompt's)
    assert len(line) == 1 and line[0].startswith("Warning: the predictor in "), err
    assert "keep 24 of 96" in line[0] and "not 48" in line[0], line


def test_mask_overlap_of_a_predictor_defaults_to_its_trained_budget(trained, capsys):
    """The API: ``mask_overlap(lora_model, tok, data, "predictor")`` cut at 0.5 too."""
    model, corpus, run = trained
    net, tok = mlx_ifp.load(str(model), adapter_path=str(run))
    at = dict(n=2, groups=1, domains=("math", "code"))
    assert evaluation.mask_overlap(net, tok, corpus, "predictor", **at)["keep"] == 0.25
    assert "trained to keep" not in capsys.readouterr().err
    assert evaluation.mask_overlap(net, tok, corpus, "predictor", keep=0.5, **at)["keep"] == 0.5
    assert "Warning: the predictor in " in capsys.readouterr().err
    assert evaluation.mask_overlap(net, tok, corpus, "griffin", **at)["keep"] == 0.5


@pytest.mark.parametrize(
    "variants, said, title",
    [("ac", "(a), (c) in alternating trials", True), ("acf", "(a), (c), (f) in", True),
     ("cf", "(c), (f) in alternating", True), ("c", None, False), ("ch", None, True)],
)  # fmt: skip
def test_bench_says_which_variants_alternated(cli_world, capsys, variants, said, title):
    """(a), (c) alone: "(a), (c) and (f) in alternating trials"; none: the title said 3."""
    lines = []
    out = bench(str(cli_world[0]), None, (0.5,), 8, 2, 1, variants=variants, log=lines.append)
    alternating = [x for x in lines if "alternating" in x]
    assert [said in x for x in alternating] == ([True] if said else []), lines
    print_tables(out)
    assert ("alternating trials 3" in " ".join(capsys.readouterr().out.split())) == title
