"""Review of the fifty-second session (hleft): edge cases found, each test failing before its fix.

- ``mask_prompt=`` given with ``task=`` or ``mask=`` (``mlx_ifp.generate``, ``stream_generate``)
  was silently ignored: the task's (or the given) mask was used, and nothing said that the text
  the caller gave the mask to read was read by nothing. ``chat`` relied on it: GRIFFIN's turn
  picked its mask off the dense pass and passed it with ``mask_prompt``.
"""

import importlib

import mlx_ifp
from mlx_ifp.bench.models import synthetic_tokenizer
from mlx_ifp.cli import app

import pytest
from test_chat import TEMPLATE
from test_serve import word_tokenizer
from tiny import tiny_model
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
