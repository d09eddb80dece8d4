"""A review of ``chat``, ``info``, ``plot`` and the commands' help (forty-first session): the chat
banner of a budget that keeps every channel; ``--mask-source predictor`` at full width."""

import mlx_ifp
from mlx_ifp.cli import app

import pytest
from bad_world import no_model_load
from test_chat import TEMPLATE
from test_serve import word_tokenizer
from tiny import tiny_model
from typer.testing import CliRunner


@pytest.fixture
def tiny(monkeypatch):
    def load(*args, **kwargs):
        tok = word_tokenizer()
        tok._tokenizer.chat_template = TEMPLATE
        return tiny_model("llama"), tok  # 96 FFN channels per layer

    monkeypatch.setattr(mlx_ifp, "load", load)


@pytest.mark.parametrize("keep", ["96", "0.999"])
def test_the_chat_banner_of_a_budget_keeping_every_channel_says_unpruned(tiny, keep):
    """``--keep 96`` of 96 channels (or 0.999, which rounds to them) ran unpruned ("96.0M of
    96.0M parameters active") under a banner "pruned by griffin to 96 FFN channels per layer"."""
    args = ["chat", "--mask-source", "griffin", "-m", "2", "--keep", keep]
    run = CliRunner().invoke(app, args, input="t5\nq\n")
    first = run.output.splitlines()[0]
    assert run.exit_code == 0 and "unpruned (all FFN channels)" in first, first
    assert "pruned by" not in first, first


def test_the_chat_banner_of_a_pruned_budget_is_unchanged(tiny):
    run = CliRunner().invoke(app, ["chat", "--mask-source", "griffin", "--keep", "95"], input="q\n")
    assert "pruned by griffin to 95 FFN channels per layer" in run.output.splitlines()[0]


@pytest.mark.parametrize("cmd", [["chat"], ["generate", "-p", "Hi"], ["export", "--task", "math"]])
def test_the_predictor_named_at_full_width_is_refused_before_the_load(monkeypatch, tmp_path, cmd):
    """``--mask-source predictor --keep 1.0`` on the embedded model: after the model loaded,
    "the predictor mask source needs a trained predictor's folder: --adapter DIR ...; an
    embedded model uses its own" (it does, below full width); ``serve`` says why."""
    no_model_load(monkeypatch)
    out = ["-o", str(tmp_path / "slim")] if cmd[0] == "export" else []
    args = [*cmd, *out, "--mask-source", "predictor", "--keep", "1.0"]
    run = CliRunner().invoke(app, args, input="q\n")
    assert run.exit_code == 2, run.output
    assert run.output.startswith("Error: smollm2-135m-instruct at --keep 1 keeps every channel")
    assert "--adapter DIR" not in run.output
