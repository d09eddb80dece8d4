"""eval --repick: per-input rows scored teacher-forced as generation that re-picks the mask every
N reply tokens runs them (before, eval scored one mask from the prompt while ``generate`` re-picked
the shipped predictor's every 16 tokens: its figures were not what generate runs)."""

import json

from mlx_ifp.cli import app
from mlx_ifp.common import UsageError
from mlx_ifp.evaluation import markdown
from mlx_ifp.evaluation import run as ev
from mlx_ifp.inference import Pruner, forced, positions
from mlx_ifp.inference.repick import Repicking, start
from mlx_ifp.sources.predictor import PredictorConfig, new_predictor, save_predictor, update_config

import mlx.core as mx
import pytest
from corpus import ByteTokenizer, fake_corpus
from mlx_lm.models.cache import make_prompt_cache
from tiny import finetune_folder, tiny_model
from typer.testing import CliRunner


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    return fake_corpus(tmp_path, monkeypatch)


def griffin_head(model, folder, k=48):
    """A finetune folder whose predictor reads GRIFFIN statistics (re-picks by default)."""
    folder.mkdir(parents=True, exist_ok=True)
    cfg = PredictorConfig(layers=1, rank=8, head="griffin", factor_rank=4)
    save_predictor(new_predictor(model, cfg), folder)
    update_config(folder, k=k, train="frozen")
    return folder


def test_eval_masks_are_those_generation_applies(tmp_path):
    """Reply token i is predicted, in eval, by the mask ``positions`` places at start + i - 1;
    generation (a ``Repicking`` fed the same reply) predicts it with the slim model's channels
    after feeding token i - 1: the same channels, for every token, for two sources."""
    model, tok = tiny_model("llama"), ByteTokenizer()
    folder = griffin_head(model, tmp_path / "ft")
    prompt, reply, every = "Add 2 and 3, then explain.", list(range(40, 63)), 4
    for source in ("griffin", None):
        kw = {"path": str(folder)} if source is None else {}
        pruner = Pruner(model, tok, source or "predictor", 48, **kw)
        masks = forced(pruner, prompt, reply, every)
        assert len(masks) == (len(reply) - 1) // every + 1
        start_at = 17  # where the reply starts in a scored sequence (its chat-formatted prompt)
        at = positions(len(masks), start_at, every, start_at + len(reply))
        slim, info, running = start(pruner, prompt)
        gen = Repicking(pruner, running, slim, info, every, 5, len(reply) + 1)
        cache = make_prompt_cache(slim)
        gen(mx.array([[1, 2, 3, 4, 5]]), cache=cache)  # the prompt (its own tokens: unread)
        applied = [[set(o) for o in gen.order]]  # predicts reply token 0
        for t in reply[:-1]:
            gen(mx.array([[t]]), cache=cache)
            applied.append([set(o) for o in gen.order])  # predicts the next reply token
        for i, channels in enumerate(applied):
            want = masks[at[start_at + i - 1]].indices.tolist()
            assert channels == [set(row) for row in want], (source, i)
        assert info.repicks == len(masks) - 1


def config(**kw):
    base = dict(domains=("math",), sources=("griffin",), keeps=(0.5,), modes=("input",),
                limit=3, gen_limit=0, batch_size=2)  # fmt: skip
    return ev.EvalConfig(**(base | kw))


def rows(corpus, model=None, **kw):
    model = model or tiny_model("llama")
    return ev.evaluate(model, ByteTokenizer(), corpus, config(**kw), progress=False)["results"]


def test_repick_past_the_reply_is_the_one_mask_row(corpus):
    one, long = rows(corpus, repick=0)[0], rows(corpus, repick=100_000)[0]
    assert (one["repick"], long["repick"]) == (0, 100_000)
    for key in ("nll", "kl", "top1"):
        assert long[key] == pytest.approx(one[key], rel=1e-5, abs=1e-6), key
    with pytest.raises(UsageError, match="repick must be 0"):  # the Python API checks it too
        rows(corpus, repick=-2)


def test_griffin_repicks_when_asked_and_predictor_by_default(corpus, tmp_path):
    model = tiny_model("llama")
    by_default, asked = rows(corpus)[0], rows(corpus, repick=3)[0]
    assert by_default["repick"] == 0 and asked["repick"] == 3
    assert asked["kl"] != pytest.approx(by_default["kl"], rel=1e-6)  # other masks scored
    folder = str(griffin_head(model, tmp_path / "ft"))
    got = rows(corpus, model, sources=("full",), adapters={"ft": folder}, modes=("input", "task"))
    modes = {r["mode"]: r["repick"] for r in got if r["source"] == "ft"}
    assert modes == {"input": 16, "task": 0}  # DEFAULT_REPICK, as generate; a task: one mask
    off = rows(corpus, model, sources=("full",), adapters={"ft": folder}, repick=0)
    assert [r["repick"] for r in off] == [0, 0]
    assert "| ft (repick 16) |" in markdown({"results": got})  # the table says so


def cli(*args):
    return CliRunner().invoke(app, ["eval", *args])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--repick", "-1"], "repick must be 0 (off) or a whole number"),
        (["--repick", "3", "--modes", "task"], "repick re-picks a per-prompt mask"),
        (["--repick", "3", "--mask-sources", "static,full"], "no row here has one to re-pick"),
        (["--repick", "3", "--adapter", "ft=FT"], "cannot re-pick during generation"),
    ],
)
def test_bad_repick_is_one_line_and_exit_2(cli_world, tmp_path, args, message):
    model, corpus = cli_world
    folder = finetune_folder(tiny_model("llama"), tmp_path / "ft", k=48, train="frozen")
    args = [a.replace("FT", str(folder)) for a in args]  # a predictor with a full head
    run = cli("--model", str(model), "--data", str(corpus), "--domains", "math", "--limit", "2",
              "--gen-limit", "0", "--keep", "0.5", "--max-len", "64", *args)  # fmt: skip
    assert run.exit_code == 2, run.output
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], run.stderr


def test_cli_repick_row_says_so(cli_world):
    model, corpus = cli_world
    run = cli("--model", str(model), "--data", str(corpus), "--domains", "math", "--limit", "2",
              "--gen-limit", "0", "--keep", "0.5", "--max-len", "64", "--mask-sources",
              "griffin", "--modes", "input", "--repick", "3")  # fmt: skip
    assert run.exit_code == 0, run.output
    assert [r["repick"] for r in json.loads(run.stdout)["results"]] == [3]
    assert "griffin (repick 3)" in run.stderr  # the rich table
