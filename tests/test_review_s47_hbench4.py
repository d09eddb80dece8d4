"""Review (s47, the fairness of ``bench``'s (e) and ``eval``'s generated replies at the context).

- ``bench`` (e) timed the exported folder through mlx_lm (``run_decode``: the allocator's cache
  cleared before each pass, a short warm-up first) and then through mlx_ifp's ``generate``
  (no clearing, a full-length warm-up), one block after the other: machine drift fell on one
  side only, while (a), (c) and (f) alternate trials (the clearing itself is no difference:
  mlx-lm clears after the first token on both sides). Now both
  sides of (e) go through ``run_decode`` in alternating trials, as the other decode ratios do.
- ``eval``'s GSM8K / HumanEval replies went through mlx-lm's ``generate``, which does not check
  prompt + ``--max-tokens`` against the model's context: on a 32-token model a 13-token prompt
  decoded 40 tokens, 21 of them past the positions the model was made for, silently. Now, as
  ``generate`` (``fit_context``): a reply stops at the context, with one warning counting the
  replies so cut, and a prompt that fills the context is refused in one line before any work.

Every test here but the guard (said in its docstring) fails on the code it was written against,
for the reason in its docstring.
"""

import importlib
import json
import sys

import mlx_ifp  # first: the optimized BLAS before mlx.core  # noqa: F401
from mlx_ifp import UsageError
from mlx_ifp.bench import bench
from mlx_ifp.cli import app
from mlx_ifp.evaluation import EvalConfig, evaluate
from mlx_ifp.evaluation import run as ev
from mlx_ifp.inference import ContextFull

import mlx.core as mx
import mlx_lm
import pytest
from tiny import save_folder, tiny_model
from typer.testing import CliRunner

GEN = 12  # over run_decode's 8-token warm-up: timed passes are told from warm-ups


def test_bench_e_gives_both_sides_the_same_preparation_in_alternating_trials(monkeypatch):
    """mlx_lm's side: cache cleared, 8-token warm-up, 2 trials; then mlx_ifp's 3 passes of
    ``GEN`` tokens, none after bench cleared the cache, all after mlx_lm's."""
    events = []
    clear, lm, ifp = mx.clear_cache, mlx_lm.stream_generate, mlx_ifp.inference.stream_generate

    def spy(side, real, at):
        def stream(*a, **k):
            events.append((side, a[at] if len(a) > at else k["max_tokens"]))
            return real(*a, **k)

        return stream

    def cleared():  # by bench itself (mlx-lm's generate_step clears after the first token too)
        if sys._getframe(1).f_globals["__name__"] == "mlx_ifp.bench.run":
            events.append("clear")
        clear()

    monkeypatch.setattr(mx, "clear_cache", cleared)
    monkeypatch.setattr(mlx_lm, "stream_generate", spy("lm", lm, 3))
    monkeypatch.setattr(mlx_ifp.inference, "stream_generate", spy("ifp", ifp, 3))
    out = bench(preset="tiny", prompt_tokens=8, gen_tokens=GEN, trials=2, variants="e",
                log=lambda s: None)  # fmt: skip
    passes = [i for i, e in enumerate(events) if e != "clear"]
    assert all(events[i - 1] == "clear" for i in passes), events  # each pass: a cleared cache
    timed = [events[i][0] for i in passes if events[i][1] == GEN]
    assert timed == ["lm", "ifp"] * 3, [
        e for e in events if e != "clear" or print(e)
    ]  # alternating, at least 3 (as (a), (c), (f))
    for side in ("lm", "ifp"):  # each side's first pass a warm-up, not timed
        assert next(e for e in events if e[0] == side)[1] < GEN, events
    e = out["runs"][0]["variants"]
    assert len(e["e_mlx_lm"]["decode_tps_all"]) == len(e["e_mlx_ifp"]["decode_tps_all"]) == 3


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def short_model(tmp_path_factory):
    """A tiny model of a 32-token context."""
    root = tmp_path_factory.mktemp("short")
    return save_folder(tiny_model("qwen3", max_position_embeddings=32), root / "model")


def math_corpus(root, prompt: str = "t5 t6 t7"):
    """A corpus folder of one GSM8K-like test item (13 tokens with the answer-format hint)."""
    folder = root / "mine"
    (folder / "domains" / "math").mkdir(parents=True)
    item = {"prompt": prompt, "completion": "t8 t9", "provenance": {"answer": "4"}}
    (folder / "domains" / "math" / "test.jsonl").write_text(json.dumps(item) + "\n")
    return folder


@pytest.fixture
def asked(monkeypatch):
    """(prompt length, max_tokens) of every reply mlx-lm generates for ``eval``."""
    gen = importlib.import_module("mlx_lm.generate")
    seen, one, batch = [], gen.generate, gen.batch_generate

    def generate(model, tok, prompt, max_tokens=256, **k):
        seen.append((len(prompt), max_tokens))
        return one(model, tok, prompt, max_tokens=max_tokens, **k)

    def batch_generate(model, tok, prompts, max_tokens=128, **k):
        each = max_tokens if isinstance(max_tokens, list) else [max_tokens] * len(prompts)
        seen.extend((len(p), m) for p, m in zip(prompts, each, strict=True))
        return batch(model, tok, prompts, max_tokens=max_tokens, **k)

    monkeypatch.setattr(gen, "generate", generate)
    monkeypatch.setattr(gen, "batch_generate", batch_generate)
    return seen


FLAGS = "--domains math --mask-sources full,random --keep 0.5 --limit 1 --gen-limit 1 --max-len 32"


def test_a_reply_stops_at_the_context_with_one_warning(short_model, tmp_path, asked):
    """``--max-tokens 40`` after a 13-token prompt on a 32-token model: 40 tokens asked of
    mlx-lm, 21 of them past the context, and no word of it."""
    out = tmp_path / "r.json"
    run = cli("eval", "--model", short_model, "--data", math_corpus(tmp_path), *FLAGS.split(),
              "--max-tokens", 40, "-o", out)  # fmt: skip
    assert run.exit_code == 0, run.output
    assert asked and all(n + m <= 32 for n, m in asked), asked
    assert {m for _, m in asked} == {19}, asked  # as generate cuts it: 32 - 13
    said = [line for line in run.output.splitlines() if "context" in line]
    assert len(said) == 1 and "32 tokens" in said[0] and "1 of 1" in said[0], run.output
    assert len(json.loads(out.read_text())["results"]) == 2  # both sources: one warning


def test_what_fits_the_context_asks_for_max_tokens(short_model, tmp_path, asked):
    """The guard (passes before and after): a reply that fits is asked for whole, unwarned."""
    data = math_corpus(tmp_path)
    run = cli("eval", "--model", short_model, "--data", data, *FLAGS.split(), "--max-tokens", 19)
    assert run.exit_code == 0 and "Warning" not in run.output, run.output
    assert asked and {m for _, m in asked} == {19}, asked


LONG = " ".join(f"t{i % 90 + 5}" for i in range(40))  # a 40-token prompt (scored cut to 16)


def test_a_prompt_that_fills_the_context_is_refused_before_any_work(
    short_model, tmp_path, asked, monkeypatch
):
    """A 40-token prompt on a 32-token model: its scoring cut it to fit, but its reply was
    generated from all 40 tokens, past the context."""
    data, out = math_corpus(tmp_path, LONG), tmp_path / "r.json"
    run = cli("eval", "--model", short_model, "--data", data, *FLAGS.split(), "-o", out)
    assert run.exit_code == 2, run.output
    lines = run.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), run.output
    assert "context" in lines[0] and "32" in lines[0] and "--gen-limit" in lines[0], lines
    assert not out.exists() and not asked

    def scored(*_):
        raise AssertionError("scored before the replies' prompts were checked")

    monkeypatch.setattr(ev, "logprobs", scored)
    net, tok = mlx_ifp.load(str(short_model))
    cfg = EvalConfig(domains=("math",), sources=("full",), limit=1, gen_limit=1, max_len=32)
    with pytest.raises(UsageError, match="context"):
        evaluate(net, tok, data, cfg, progress=False)


def test_generate_replies_cuts_a_reply_at_the_context(short_model, tmp_path, asked):
    """The API (``tools/eval_ifp.py`` calls it): a ``ContextFull`` warning, mlx_ifp
    ``generate``'s, and the reply cut, for one item and for a batch."""
    net, tok = mlx_ifp.load(str(short_model))
    items = [{"domain": "math", "prompt": p} for p in ("t5 t6 t7", "t5 t6 t7 t8")]
    masks = [mlx_ifp.Mask.full(net)] * 2  # one mask: one batch of two
    with pytest.warns(ContextFull, match="2 of 2"):
        ev.generate_replies(net, tok, items, masks, 40)
    with pytest.warns(ContextFull, match="1 of 1"):
        ev.generate_replies(net, tok, items[:1], masks[:1], 40)
    assert asked == [(13, 19), (14, 18), (13, 19)], asked
