"""Review (s47, `mlx_ifp eval` as a researcher runs it on a corpus folder of their own): items
generation is scored on, and sequences longer than the model reads.

- A math test item whose provenance ``answer`` is a number (``{"answer": 4}``, as one writes
  it by hand) ended the run with a ``TypeError`` traceback at the first scoring of a reply,
  after the scoring passes it had done: ``exact_match`` took only texts.
- A math item with HumanEval-style ``test`` but no ``answer`` was picked for scoring (any item
  with ``answer`` or ``test``, whatever its domain), then a ``KeyError: 'answer'`` traceback;
  so was a code item with ``test`` but no ``entry_point`` / ``code_prompt``, or an ``answer``
  of ``null``. Now a domain scores the items of its own kind (math: an ``answer``; code:
  ``test``), and one of them lacking a text its scoring reads is refused in one line before
  any scoring (exit 2, no report).
- An item longer than the model's context under ``--max-len`` (a 32-token model, the default
  384): every row was scored past the positions the model was made for, silently, where
  ``generate`` refuses a prompt over the context and ``bench`` a run over it. Now refused in one
  line naming the ``--max-len`` that fits (exit 2).

Every test here but the guard (said in its docstring) fails on the code it was written against,
for the reason in its docstring.
"""

import json

import mlx_ifp  # first: the optimized BLAS before mlx.core  # noqa: F401
from mlx_ifp import UsageError
from mlx_ifp.evaluation import EvalConfig, evaluate
from mlx_ifp.evaluation import run as ev
from mlx_ifp.evaluation.sandbox import exact_match

import pytest
from test_review_s45_heval2 import cli, one_error
from tiny import save_folder, tiny_model

EVAL = "--mask-sources full --keep 0.5 --limit 2 --gen-limit 1 --max-tokens 2 --max-len 48"


def corpus(root, domain: str, provenance: dict, completion: str = "t8 t9"):
    """A corpus folder of one test item in ``domain`` with this ``provenance``, and the eval
    flags that read it (that domain alone: no warning line for the others)."""
    folder = root / "mine"
    (folder / "domains" / domain).mkdir(parents=True)
    item = {"prompt": "t5 t6 t7", "completion": completion, "provenance": provenance}
    (folder / "domains" / domain / "test.jsonl").write_text(json.dumps(item) + "\n")
    return ["--data", folder, "--domains", domain]


@pytest.mark.parametrize("answer", [4, 4.0])
def test_a_number_answer_matches_as_its_text(answer):
    """``exact_match("... #### 4", 4)``: a TypeError (``re.sub`` on an int)."""
    assert exact_match("2 + 2 = 4\n#### 4", answer)
    assert not exact_match("#### 5", answer)


def test_a_math_item_with_a_number_answer_is_scored(cli_world, tmp_path):
    """``{"answer": 4}``: a TypeError traceback once the first reply was scored."""
    model, _ = cli_world
    data, out = corpus(tmp_path, "math", {"answer": 4}), tmp_path / "r.json"
    run = cli("eval", "--model", model, *data, *EVAL.split(), "-o", out)
    assert run.exit_code == 0, run.output
    (row,) = json.loads(out.read_text())["results"]
    assert row["gen_n"] == 1 and row["exact_match"] == 0.0


def test_a_math_item_without_an_answer_is_not_generated_for(cli_world, tmp_path):
    """A math item carrying ``test`` (not ``answer``) was picked: a KeyError traceback."""
    model, _ = cli_world
    data, out = corpus(tmp_path, "math", {"test": "assert True"}), tmp_path / "r.json"
    run = cli("eval", "--model", model, *data, *EVAL.split(), "-o", out)
    assert run.exit_code == 0, run.output
    (row,) = json.loads(out.read_text())["results"]
    assert row["gen_n"] == 0 and row["exact_match"] is None and row["n"] == 1


CODE = {
    "test": "def check(f):\n    assert f(1) == 2\n",
    "entry_point": "f",
    "code_prompt": "def f(x):\n",
}


@pytest.mark.parametrize(
    "domain, provenance, key",
    [
        ("math", {"answer": None}, "answer"),
        ("math", {"answer": [4]}, "answer"),
        ("math", {"answer": True}, "answer"),
        ("code", {k: v for k, v in CODE.items() if k != "entry_point"}, "entry_point"),
        ("code", {k: v for k, v in CODE.items() if k != "code_prompt"}, "code_prompt"),
        ("code", {**CODE, "test": ["assert True"]}, "test"),
    ],
)
def test_an_unscoreable_item_is_refused_in_one_line(cli_world, tmp_path, domain, provenance, key):
    """A traceback (KeyError, TypeError) at the first reply scored, after the scoring passes."""
    model, _ = cli_world
    data, out = corpus(tmp_path, domain, provenance), tmp_path / "r.json"
    line = one_error(cli("eval", "--model", model, *data, *EVAL.split(), "-o", out))
    assert f"'{key}'" in line and domain in line, line
    assert not out.exists()


def test_an_unscoreable_item_is_refused_before_any_scoring(cli_world, tmp_path, monkeypatch):
    """The API: a KeyError after the first row's scoring pass, not a UsageError before it."""
    model, _ = cli_world
    data = corpus(tmp_path, "code", {"test": "assert True"})
    net, tok = mlx_ifp.load(str(model))

    def scored(*_):
        raise AssertionError("scored before the items were checked")

    monkeypatch.setattr(ev, "logprobs", scored)
    with pytest.raises(UsageError, match="entry_point"):
        evaluate(net, tok, data[1], EvalConfig(sources=("full",), limit=1), progress=False)


@pytest.fixture(scope="module")
def short_model(tmp_path_factory):
    """A tiny model of a 32-token context."""
    root = tmp_path_factory.mktemp("short")
    return save_folder(tiny_model("qwen3", max_position_embeddings=32), root / "model")


LONG = " ".join(f"t{i % 90 + 5}" for i in range(60))  # 60 reference tokens


def test_a_max_len_over_the_context_is_refused(short_model, tmp_path):
    """``--max-len 48`` on a 32-token model, an item of 60+ tokens: scored past the context."""
    data, out = corpus(tmp_path, "general", {}, LONG), tmp_path / "r.json"
    line = one_error(cli("eval", "--model", short_model, *data, *EVAL.split(), "-o", out))
    assert "--max-len 48" in line and "context of 32" in line and "takes 48" in line, line
    assert not out.exists()
    net, tok = mlx_ifp.load(str(short_model))
    with pytest.raises(UsageError, match="context of 32"):  # the API: the default 384 too
        evaluate(net, tok, data[1], EvalConfig(sources=("full",), limit=1), progress=False)


@pytest.mark.parametrize("completion, max_len", [(LONG, 32), ("t8 t9", 48)])
def test_what_fits_the_context_runs(short_model, tmp_path, completion, max_len):
    """The guard (passes before and after): cut to the context, or short items under a longer
    --max-len, run as before."""
    data, out = corpus(tmp_path, "general", {}, completion), tmp_path / "r.json"
    flags = [*EVAL.split(), "--max-len", max_len, "-o", out]
    assert cli("eval", "--model", short_model, *data, *flags).exit_code == 0
    assert 1 <= json.loads(out.read_text())["results"][0]["tokens"] < 32
