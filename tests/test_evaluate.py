"""Evaluation: answer matching, the code sandbox, metrics on tiny models, bad input."""

import math

from mlx_ifp.cli.evaluate import eval_command
from mlx_ifp.common import UsageError
from mlx_ifp.core import ffn
from mlx_ifp.core.mask import Mask
from mlx_ifp.core.prompt import turn_tokens
from mlx_ifp.data import corpus as data
from mlx_ifp.evaluation import metrics, table
from mlx_ifp.evaluation import run as ev
from mlx_ifp.evaluation.sandbox import exact_match, final_number, program, run_program
from mlx_ifp.sources import make_source

import mlx.core as mx
import numpy as np
import pytest
from corpus import ByteTokenizer, fake_corpus
from tiny import finetune_folder, tiny_model

# ---------------------------------------------------------------- answers and the sandbox


@pytest.mark.parametrize(
    "reply, number",
    [
        ("So 3 + 4 = 7.\n#### 7", "7"),
        ("The answer is $1,250.", "1250"),
        ("First 2 apples, then 5 more: 7.0 in total", "7"),
        ("no number here", None),
    ],
)
def test_final_number(reply, number):
    assert final_number(reply) == number


def test_exact_match_uses_the_final_answer():
    assert exact_match("6 * 3 = 18 so #### 18", "18")
    assert not exact_match("18 eggs, minus 3, leaves 15", "18")


def test_program_accepts_a_whole_function_or_a_body():
    prompt = "from typing import List\n\ndef f(x: List[int]) -> int:\n"
    test = "def check(c):\n    assert c([1, 2]) == 3\n"
    whole = "Here you go:\n```python\ndef f(x: List[int]) -> int:\n    return sum(x)\n```"
    assert run_program(program(prompt, whole, test, "f")).passed
    assert run_program(program(prompt, "    return sum(x)\n", test, "f")).passed
    assert not run_program(program(prompt, "    return 0\n", test, "f")).passed


def test_crash_hang_and_fork_are_contained():
    crash = run_program("raise SystemExit('boom')")
    assert crash.status == "failed" and "boom" in crash.detail
    hang = run_program("while True:\n    pass\n", timeout=1.0)
    assert hang.status == "timeout" and not hang.passed
    forked = run_program(
        "import os, time\nif os.fork() == 0:\n    time.sleep(60)\nelse:\n    time.sleep(60)\n",
        timeout=1.0,
    )
    assert forked.status in ("timeout", "failed")  # killed, or (Linux) the fork refused
    bomb = run_program("x = bytearray(8 << 30)\n", timeout=5.0)  # 8 GiB: over the memory limit
    assert not bomb.passed and bomb.status in ("failed", "error")


# ---------------------------------------------------------------- metrics on tiny models


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    return fake_corpus(tmp_path, monkeypatch)


@pytest.mark.parametrize("arch", ["llama", "qwen2", "gemma3_text"])
def test_reference_logprobs_match_the_full_forward(arch):
    model, tok = tiny_model(arch), ByteTokenizer()
    items = [
        {"prompt": "What is 2+2?", "completion": "4, of course."},
        {"prompt": "Hi", "completion": "Hello there"},
    ]
    chunk = metrics.pairs(tok, items, 64)
    tokens = metrics.batch_of(chunk)
    lp = metrics.logprobs(model, tokens, None, chunk)
    full = model(tokens).astype(mx.float32)
    full = full - mx.logsumexp(full, axis=-1, keepdims=True)
    rows = [full[b, t] for b, (toks, s) in enumerate(chunk) for t in range(s - 1, len(toks) - 1)]
    np.testing.assert_allclose(np.array(lp), np.array(mx.stack(rows)), atol=1e-4)


class TemplatedTokenizer(ByteTokenizer):
    """ByteTokenizer with a chat template: "<|user|>TEXT<|end|><|assistant|>"."""

    chat_template = "tiny"
    HEAD, TAIL = "<|user|>", "<|end|><|assistant|>"

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=True):
        return "".join(f"<|{m['role']}|>{m['content']}<|end|>" for m in messages) + "<|assistant|>"


def test_a_long_prompt_loses_user_text_not_the_assistant_header():
    tok = TemplatedTokenizer()
    head, tail = tok.encode(tok.HEAD), tok.encode(tok.TAIL)
    items = [
        {"prompt": "x" * 500, "completion": "the answer"},  # 500 + 29 template tokens > 64
        {"prompt": "short", "completion": "ok"},
    ]
    with pytest.warns(UserWarning, match="1 of 2 prompts had 64\\+ tokens"):
        chunk = metrics.pairs(tok, items, 64)
    (long_toks, start), (short_toks, short_start) = chunk
    assert long_toks[: len(head)] == head and long_toks[start - len(tail) : start] == tail
    assert start == 32  # char-level tokens: the user text fills half of max_len exactly
    assert long_toks[start:] == tok.encode("the answer") + [tok.eos_token_id]
    assert short_toks == tok.encode("<|user|>short" + tok.TAIL + "ok") + [tok.eos_token_id]
    assert short_start == len(tok.encode("<|user|>short" + tok.TAIL))


def numpy_scores(model, tok, items, masks, max_len=384, dense_logits=None) -> dict:
    """NLL, KL(dense || masked) and top-1 agreement per reference token, from whole-model
    logits in float64 numpy: an independent reference for ``evaluate``'s rows. A mask of None
    is the dense model; ``dense_logits``, a dict, keeps each item's dense logits for later calls
    on the same model (the tests' slowest part on the real model)."""
    dense_logits = {} if dense_logits is None else dense_logits
    nll = kl = top1 = n = 0.0
    for it, mask in zip(items, masks, strict=True):
        ((toks, start),) = metrics.pairs(tok, [it], max_len)
        x = mx.array([toks])
        if (key := tuple(toks)) not in dense_logits:
            dense_logits[key] = np.array(model(x)[0].astype(mx.float32), dtype=np.float64)
        dense = pruned = dense_logits[key]
        if mask is not None:
            with ffn.masked(model, mask.dense()):
                pruned = np.array(model(x)[0].astype(mx.float32), dtype=np.float64)
        for t in range(start, len(toks)):  # logits at t - 1 predict token t
            p, q = dense[t - 1], pruned[t - 1]
            lp, lq = p - np.logaddexp.reduce(p), q - np.logaddexp.reduce(q)
            nll -= lq[toks[t]]
            kl += float(np.sum(np.exp(lp) * (lp - lq)))
            top1 += float(np.argmax(p) == np.argmax(q))
            n += 1
    return {"nll": nll / n, "kl": kl / n, "top1": top1 / n}


def test_evaluate_dense_random_and_per_task(corpus):
    model, tok = tiny_model("llama"), ByteTokenizer()
    cfg = ev.EvalConfig(
        domains=("math", "code"),
        sources=("full", "random", "griffin"),
        keeps=(0.5,),
        limit=3,
        gen_limit=0,
        batch_size=2,
    )
    report = ev.evaluate(model, tok, corpus, cfg, progress=False)
    rows = {(r["domain"], r["source"], r["mode"]): r for r in report["results"]}
    assert len(rows) == 2 * 4  # full, random (static), griffin per input and per task
    for dom in ("math", "code"):
        dense = rows[(dom, "full", "static")]
        assert dense["kl"] == pytest.approx(0, abs=1e-5) and dense["top1"] == 1.0
        assert dense["ppl"] == pytest.approx(math.exp(dense["nll"]))
        items = ev.instructions(corpus, dom)[:3]
        rand = rows[(dom, "random", "static")]
        one = make_source("random").select(model, [1], 48)  # seed 0: the same mask each time
        want = numpy_scores(model, tok, items, [one] * 3)
        assert rand["k"] == 48 and rand["active_fraction"] < 1
        for key in ("nll", "kl", "top1"):
            assert rand[key] == pytest.approx(want[key], rel=1e-4, abs=1e-5), key
        griffin = make_source("griffin")
        per_input = [griffin.select(model, turn_tokens(tok, it["prompt"]), 48) for it in items]
        per_task = [griffin.select(model, turn_tokens(tok, data.tasks(corpus)[dom]), 48)] * 3
        for mode, masks in (("input", per_input), ("task", per_task)):
            want = numpy_scores(model, tok, items, masks)
            for key in ("nll", "kl", "top1"):
                got = rows[(dom, "griffin", mode)][key]
                assert got == pytest.approx(want[key], rel=1e-4, abs=1e-5), (mode, key)
    assert "ppl (input)" in [c.header for c in table(report).columns]


def test_masked_batch_equals_one_at_a_time(corpus):
    """Per-input masks stacked in a batch give each item what its own mask gives alone."""
    model, tok = tiny_model("llama"), ByteTokenizer()
    items = ev.instructions(corpus, "math")[:3]
    source = make_source("griffin")
    masks = ev.masks_for(model, tok, source, items, 48, "input", "task text")
    chunk = metrics.pairs(tok, items, 128)
    together = metrics.logprobs(
        model, metrics.batch_of(chunk), mx.stack([m.dense() for m in masks]), chunk
    )
    alone = [
        metrics.logprobs(model, metrics.batch_of([c]), m.dense()[None], [c])
        for c, m in zip(chunk, masks, strict=True)
    ]
    np.testing.assert_allclose(np.array(together), np.array(mx.concatenate(alone)), atol=1e-4)


def test_dense_prefill_scores_equal_slim_decoding_over_a_dense_cache(corpus):
    """eval --prefill dense scores what generate --prefill dense computes, token by token."""
    from mlx_ifp.inference.pruner import Pruner

    model, tok = tiny_model("llama"), ByteTokenizer()
    items = ev.instructions(corpus, "code")[:2]
    pruner = Pruner(model, tok, "random", 48)
    mask = pruner.source.select(model, [1], 48)
    chunk = metrics.pairs(tok, items, 96)
    x = metrics.batch_of(chunk)
    masks = metrics.dense_prompt(mx.stack([mask.dense()] * 2), chunk, x.shape[1])
    lp = metrics.logprobs(model, x, masks, chunk)
    toks, start = chunk[0]
    slim, _ = pruner.slim_from_mask(mask)
    from mlx_ifp.sources import dense_prefill

    cache = dense_prefill(model, toks[:start], drop_last=True)
    logits = slim(mx.array([toks[start - 1 :]]), cache=cache)[0, : len(toks) - start]
    ref = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
    np.testing.assert_allclose(np.array(lp[: len(toks) - start]), np.array(ref), atol=1e-4)
    cfg = ev.EvalConfig(domains=("code",), sources=("random",), keeps=(0.5,), limit=2,
                        gen_limit=0, prefill="dense")  # fmt: skip
    rows = ev.evaluate(model, tok, corpus, cfg, progress=False)["results"]
    assert rows[0]["prefill"] == "dense"


def test_saved_mask_for_another_model_is_refused(corpus, tmp_path):
    other = tiny_model("llama", intermediate_size=64)
    path = Mask.full(other).save(tmp_path / "m")
    cfg = ev.EvalConfig(domains=("math",), sources=("full",), mask_files={"learned": path}, limit=2)
    with pytest.raises(UsageError, match="belongs to another model"):
        ev.evaluate(tiny_model("llama"), ByteTokenizer(), corpus, cfg, progress=False)


def test_saved_mask_is_evaluated_as_a_fixed_source(corpus, tmp_path):
    model = tiny_model("llama")
    d = ffn.d_ffn(model)
    idx = mx.broadcast_to(mx.arange(0, d, 2, dtype=mx.int32), (len(ffn.layers(model)), d // 2))
    path = Mask(idx, d, Mask.full(model).model, "learned-static").save(tmp_path / "m")
    cfg = ev.EvalConfig(
        domains=("code",), sources=("full",), mask_files={"learned": path}, limit=2, gen_limit=0
    )
    rows = ev.evaluate(model, ByteTokenizer(), corpus, cfg, progress=False)["results"]
    learned = next(r for r in rows if r["source"] == "learned")
    assert learned["k"] == d // 2
    items = ev.instructions(corpus, "code")[:2]
    want = numpy_scores(model, ByteTokenizer(), items, [Mask(idx, d)] * 2)
    for key in ("nll", "kl", "top1"):
        assert learned[key] == pytest.approx(want[key], rel=1e-4, abs=1e-5), key


def test_bad_input_fails_before_loading(corpus):
    with pytest.raises(UsageError, match="unknown domain 'biology'"):
        eval_command(domains="biology", data=str(corpus))
    with pytest.raises(UsageError, match="unknown mask source"):
        eval_command(sources="full,oracle", data=str(corpus))
    with pytest.raises(UsageError, match="NAME=PATH"):
        eval_command(mask=["nopath"], data=str(corpus))
    with pytest.raises(UsageError, match="no instruction items"):  # prose: fortunes only here
        eval_command(domains="prose", data=str(corpus))


# ---------------------------------------------------------------- the real model


@pytest.mark.real
def test_real_model_humaneval_and_gsm8k_generation():
    """SmolLM2: dense replies are scored end to end; pruning raises KL above zero."""
    import mlx_ifp

    model, tok = mlx_ifp.load("smollm2-135m-instruct")
    cfg = ev.EvalConfig(
        domains=("math", "code"),
        sources=("full", "static"),
        keeps=(0.5,),
        limit=2,
        gen_limit=1,
        max_len=192,
        max_tokens={"math": 16, "code": 24},  # what is checked: a reply generated and scored
    )
    rows = ev.evaluate(model, tok, data.build(verbose=False), cfg, progress=False)["results"]
    assert {(r["domain"], r["source"]) for r in rows} == {
        (d, s) for d in ("math", "code") for s in ("full", "static")
    }
    dense = {r["domain"]: r for r in rows if r["source"] == "full"}
    static = make_source("static").select(model, [1], 768)
    dense_logits: dict = {}  # the same items' dense logits for both sources of a domain
    for r in rows:
        assert r["gen_n"] == 1 and 1 < dense[r["domain"]]["ppl"] < 20
        items = ev.instructions(data.build(verbose=False), r["domain"])[:2]
        mask = None if r["source"] == "full" else static
        want = numpy_scores(model, tok, items, [mask] * 2, max_len=192, dense_logits=dense_logits)
        for key in ("nll", "kl", "top1"):
            assert r[key] == pytest.approx(want[key], rel=1e-3, abs=1e-4), (r["source"], key)


# ---------------------------------------------------------------- plots


def test_overlap_and_quality_plots(corpus, tmp_path):
    from mlx_ifp import evaluation
    from mlx_ifp.evaluation import plots

    model, tok = tiny_model("llama"), ByteTokenizer()
    res = evaluation.mask_overlap(
        model, tok, corpus, "griffin", 0.5, n=3, groups=3, domains=("math", "code", "science")
    )
    mats = np.array(res["overlap"])
    assert mats.shape == (3, 3, 3) and np.allclose(mats, mats.transpose(0, 2, 1))
    # expected: mean |A ∩ B| / k over pairs of inputs (different ones within a domain), by sets
    griffin, doms = make_source("griffin"), ("math", "code", "science")
    sets = {
        dom: [[set(row.tolist()) for row in np.array(
            griffin.select(model, turn_tokens(tok, it["prompt"]), 48).indices)]
            for it in ev.instructions(corpus, dom)[:3]]
        for dom in doms
    }  # fmt: skip
    for g in range(3):  # 3 layers in 3 groups: group g is layer g
        for i, a in enumerate(doms):
            for j, b in enumerate(doms):
                pairs = [(x, y) for ix, x in enumerate(sets[a]) for iy, y in enumerate(sets[b])
                         if a != b or ix != iy]  # fmt: skip
                want = np.mean([len(x[g] & y[g]) / 48 for x, y in pairs])
                assert mats[g, i, j] == pytest.approx(want), (g, a, b)
    static = evaluation.mask_overlap(
        model, tok, corpus, "static", 0.5, n=2, groups=1, domains=("math", "code")
    )
    assert np.allclose(static["overlap"], 1.0)  # one mask for every input
    png = plots.plot_overlap(res, tmp_path / "overlap.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    cfg = ev.EvalConfig(
        domains=("math",), sources=("full", "random"), keeps=(0.25, 0.5), limit=2, gen_limit=0
    )
    report = ev.evaluate(model, tok, corpus, cfg, progress=False)
    assert plots.plot_quality(report, tmp_path / "q.png", "kl").stat().st_size > 1000
    with pytest.raises(UsageError, match="no 'pass@1' results"):
        plots.plot_quality(report, tmp_path / "q.png", "pass@1")


def test_instructions_take_sources_in_turn(corpus):
    items = ev.instructions(corpus, "code", "train")
    sources = [it["provenance"]["source"] for it in items]
    assert sources[:2] == ["humaneval", "stdlib"] and sources.count("stdlib") == 1
    assert all(it["provenance"]["source"] == "humaneval" for it in ev.scoreable(items))


@pytest.mark.parametrize("train", ["frozen", "lora", "full"])
def test_eval_adapter_runs_its_predictor_on_its_own_llm(corpus, tmp_path, train):
    """eval --adapter: any finetune folder, its LLM weights applied to a copy of the model."""
    from mlx_lm.tuner.utils import load_adapters

    model, tok = tiny_model("llama"), ByteTokenizer()
    folder = finetune_folder(model, tmp_path / "ft", k=48, train=train)
    x = mx.array([[3, 1, 4, 1, 5]])
    before = model(x)
    cfg = ev.EvalConfig(
        domains=("math",), sources=("full",), keeps=(0.5,), modes=("input",), limit=2,
        gen_limit=0, batch_size=2, adapters={"ft": str(folder)},
    )  # fmt: skip
    rows = ev.evaluate(model, tok, corpus, cfg, False)["results"]
    row = next(r for r in rows if r["source"] == "ft")
    assert mx.array_equal(model(x), before).item()  # the source model is untouched
    # independent reference: mlx-lm's own loader on a fresh copy of the source
    ref = tiny_model("llama")
    if train != "frozen":
        load_adapters(ref, str(folder))
    items = ev.instructions(corpus, "math")[:2]
    src = make_source("predictor", path=folder)
    masks = mx.stack([src.select(ref, turn_tokens(tok, it["prompt"]), 48).dense() for it in items])
    chunk = metrics.pairs(tok, items, cfg.max_len)
    dense = metrics.logprobs(model, metrics.batch_of(chunk), None, chunk)
    want = metrics.summarise(metrics.token_metrics(
        dense, metrics.logprobs(ref, metrics.batch_of(chunk), masks, chunk), chunk))  # fmt: skip
    assert row["k"] == 48
    assert row["nll"] == pytest.approx(want["nll"], abs=1e-4)
    assert row["kl"] == pytest.approx(want["kl"], abs=1e-4)
    plain = metrics.summarise(metrics.token_metrics(
        dense, metrics.logprobs(model, metrics.batch_of(chunk), masks, chunk), chunk))  # fmt: skip
    if train == "frozen":
        assert want["nll"] == pytest.approx(plain["nll"], abs=1e-6)
    else:  # the adapters change the numbers: evaluating without them would be caught
        assert abs(want["nll"] - plain["nll"]) > 1e-2
