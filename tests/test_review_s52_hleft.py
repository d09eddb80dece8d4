"""Review of the fifty-second session (hleft): edge cases found, each test failing before its fix.

- ``mask_prompt=`` given with ``task=`` or ``mask=`` (``mlx_ifp.generate``, ``stream_generate``)
  was silently ignored: the task's (or the given) mask was used, and nothing said that the text
  the caller gave the mask to read was read by nothing. ``chat`` relied on it: GRIFFIN's turn
  picked its mask off the dense pass and passed it with ``mask_prompt``.
- A trained predictor that reads GRIFFIN statistics (``head: griffin``, as both shipped ones)
  read a text in one unchunked forward pass (``PredictorSource.scores``: ``Predictor.__call__``),
  so with ``repick=0`` (``serve --repick 0``) a progress callback that raises (the server's, once
  the client has gone) could not stop the selection midway: the whole text ran first. It now
  reads the text as GRIFFIN does, inside ``sources.selecting``: a KV cache across chunks of
  ``prefill_step_size``, the callback after each, the scores those of the one pass to float
  rounding.
"""

import importlib

import mlx_ifp
from mlx_ifp.bench.models import synthetic_tokenizer
from mlx_ifp.cli import app
from mlx_ifp.inference.generation import forget
from mlx_ifp.sources import selecting
from mlx_ifp.sources.predictor import (
    PredictorConfig,
    PredictorSource,
    new_predictor,
    save_predictor,
)

import pytest
import test_review_s51_cancelsel as cancelsel
from test_chat import TEMPLATE
from test_review_s51_cancelsel import STEP, TEXT, reply, stopped
from test_serve import word_tokenizer
from tiny import finetune_folder, tiny_model
from typer.testing import CliRunner


def a_mask(model, tok):
    return mlx_ifp.select(model, tok, "t5 t6 t7", mask_source="griffin")[1].mask


CALLS = {
    "generate": lambda m, t, **kw: mlx_ifp.generate(m, t, "t8 t9", max_tokens=2, **kw),
    "stream_generate": lambda m, t, **kw: list(mlx_ifp.stream_generate(m, t, "t8 t9", 2, **kw)),
}


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("other", ["task", "mask"])
@pytest.mark.parametrize("reads", ["t40 t50", [40, 50]])
def test_mask_prompt_beside_a_task_or_a_mask_is_refused_in_one_line(call, other, reads):
    model, tok = tiny_model("llama"), synthetic_tokenizer(128)
    given = {"task": "t20 t21"} if other == "task" else {"mask": a_mask(model, tok)}
    with pytest.raises(mlx_ifp.UsageError) as e:
        CALLS[call](model, tok, mask_source="griffin", mask_prompt=reads, **given)
    said = str(e.value)
    assert "\n" not in said and "mask_prompt" in said and f"{other}=" in said


def test_mask_prompt_alone_and_a_task_alone_still_run():
    model, tok = tiny_model("llama"), synthetic_tokenizer(128)
    for kw in ({"mask_prompt": "t40 t50"}, {"task": "t20 t21"}, {"mask": a_mask(model, tok)}):
        assert isinstance(CALLS["generate"](model, tok, mask_source="griffin", **kw), str)


@pytest.mark.parametrize("args", [[], ["--repick", "2"]])
def test_chat_never_sends_mask_prompt_with_a_mask(monkeypatch, args):
    """GRIFFIN's chat turn picks its mask off the carried dense pass: it sends that mask alone."""
    chat_module = importlib.import_module("mlx_ifp.cli.chat")

    def load(*a, **kw):
        tok = word_tokenizer()
        tok._tokenizer.chat_template = TEMPLATE
        return tiny_model("llama"), tok

    sent, real = [], mlx_ifp.stream_generate

    def spy(model, tokenizer, prompt, *a, **kw):
        sent.append({k for k in ("task", "mask", "mask_prompt") if kw.get(k) is not None})
        yield from real(model, tokenizer, prompt, *a, **kw)

    monkeypatch.setattr(mlx_ifp, "load", load)
    monkeypatch.setattr(mlx_ifp, "stream_generate", spy)
    assert chat_module.stream_reply  # (the CLI's route to the spy: mlx_ifp.stream_generate)
    cmd = ["chat", "--mask-source", "griffin", "-m", "4", *args]
    run = CliRunner().invoke(app, cmd, input="t5 t6\nt7\nq\n")
    assert run.exit_code == 0, run.output
    assert "Error" not in run.output and run.output.count("parameters active") == 2
    assert len(sent) == 2 and all(not ({"task", "mask"} & s and "mask_prompt" in s) for s in sent)


chunks = cancelsel.chunks  # (the fixture: prompt chunks run, counted)


@pytest.fixture(scope="module")
def griffin_reader(tmp_path_factory):
    """The tiny llama's folder of a predictor that reads GRIFFIN statistics, shaped as the shipped
    ones (route reweight, a quarter shared), its weights moved off their zero start."""
    import mlx.core as mx

    model = tiny_model("llama")
    folder = finetune_folder(model, tmp_path_factory.mktemp("s52") / "ft", 48, train="frozen")
    pred = new_predictor(
        model, PredictorConfig(head="griffin", route="reweight", shared=0.25, k=48)
    )
    key = mx.random.key(3)
    pred.bias, pred.log_gain = mx.random.normal(pred.bias.shape, key=key), pred.bias + 0.3
    save_predictor(pred, folder)
    return folder


@pytest.mark.parametrize("step", [1, 8, 2048])
def test_a_griffin_reading_predictor_read_in_chunks_scores_as_its_one_pass(griffin_reader, step):
    """Guard (the one pass passed before the fix too): read ``step`` tokens at a time, the scores
    are the predictor's own one forward over the whole text, to float rounding."""
    import mlx.core as mx

    model, tok = tiny_model("llama"), word_tokenizer()
    ids = mx.array(tok.encode(TEXT, add_special_tokens=False))[None]
    source = PredictorSource(griffin_reader)
    whole = source.predictor(model)(ids)[0]  # (the trainer's batched pass: not chunked)
    read = selecting(step).run(source.scores, model, ids)
    assert read.shape == whole.shape and mx.allclose(read, whole, rtol=1e-4, atol=1e-3).item()
    k = 48
    picked = [sorted(r.tolist()) for r in mx.argpartition(-read, k - 1, axis=-1)[:, :k]]
    wanted = [sorted(r.tolist()) for r in mx.argpartition(-whole, k - 1, axis=-1)[:, :k]]
    assert picked == wanted  # the same channels kept


def test_a_raising_callback_stops_a_predictors_selection_after_the_first_chunk(
    chunks, griffin_reader
):
    """``repick=0``: the predictor read all 51 tokens of the text in one pass before the callback
    was first called; now it reads ``prefill_step_size`` of them and stops."""
    model, tok = tiny_model("llama"), word_tokenizer()
    how = {"mask_source": PredictorSource(griffin_reader), "repick": 0, "keep": 48}
    expected = reply(model, tok, TEXT, prefill_step_size=STEP, **how)
    forget(model)  # (its mask not cached: the selection runs again)
    calls = stopped(chunks, model, tok, TEXT, prefill_step_size=STEP, **how)
    assert chunks["tokens"] == STEP, f"{chunks['tokens']} tokens ran after the caller had gone"
    assert calls == [(0, len(tok.encode(TEXT, add_special_tokens=False)))]
    assert reply(model, tok, TEXT, prefill_step_size=STEP, **how) == expected
