"""``mlx_ifp chat``: the conversation goes to the model turn by turn, ``r`` starts over, a turn
that fails is dropped and the chat goes on; and a real conversation on the embedded model."""

import mlx_ifp
from mlx_ifp.cli import app

import pytest
from test_serve import word_tokenizer
from tiny import tiny_model
from typer.testing import CliRunner

TEMPLATE = "{% for m in messages %}{{ m['content'] }} {% endfor %}"


@pytest.fixture
def turns(monkeypatch):
    """The message lists each turn sent to ``stream_generate`` (a tiny model is loaded)."""

    def load(*args, **kwargs):
        tok = word_tokenizer()
        tok._tokenizer.chat_template = TEMPLATE
        return tiny_model("llama"), tok

    sent, real = [], mlx_ifp.stream_generate

    def spy(model, tokenizer, prompt, *args, **kwargs):
        sent.append([dict(m) for m in prompt])
        yield from real(model, tokenizer, prompt, *args, **kwargs)

    monkeypatch.setattr(mlx_ifp, "load", load)
    monkeypatch.setattr(mlx_ifp, "stream_generate", spy)
    return sent


def chat(*lines: str, args=()):
    args = ["chat", "--mask-source", "griffin", "-m", "4", *args]
    return CliRunner().invoke(app, args, input="".join(f"{x}\n" for x in lines))


def test_each_turn_sends_the_conversation_so_far(turns):
    run = chat("t5 t6", "t7", "q", args=["--system-prompt", "t9"])
    assert run.exit_code == 0, run.output
    assert [[m["role"] for m in t] for t in turns] == [
        ["system", "user"],
        ["system", "user", "assistant", "user"],
    ]
    first, second = turns
    assert second[:2] == first and second[3]["content"] == "t7"
    assert second[2]["content"].strip()  # the first reply, as it was streamed
    assert run.output.count("parameters active") == 2


def test_r_starts_a_new_conversation_and_q_or_the_end_of_input_stops(turns):
    run = chat("t5", "r", "t8")  # no q: the input ends
    assert run.exit_code == 0, run.output
    assert [[m["content"] for m in t if m["role"] == "user"] for t in turns] == [["t5"], ["t8"]]
    assert "a new conversation" in run.output


def test_a_turn_that_fails_is_dropped_and_the_chat_goes_on(turns, monkeypatch):
    spy = mlx_ifp.stream_generate

    def once_refused(model, tokenizer, prompt, *args, **kwargs):
        if len(turns) == 0 and not getattr(once_refused, "done", False):
            once_refused.done = True
            raise mlx_ifp.UsageError("the prompt is longer than the model's context")
        yield from spy(model, tokenizer, prompt, *args, **kwargs)

    monkeypatch.setattr(mlx_ifp, "stream_generate", once_refused)
    run = chat("t5", "t6", "q")
    assert run.exit_code == 0, run.output
    assert "Error: the prompt is longer" in run.output and "r starts over" in run.output
    assert [[m["content"] for m in t] for t in turns] == [["t6"]]  # t5 was dropped


def test_bad_flags_are_one_line_before_the_model_loads(monkeypatch):
    from bad_world import no_model_load

    no_model_load(monkeypatch)
    for args in (["--temp", "-1"], ["--keep", "0"], ["--repick", "-2"], ["--adapter", ""]):
        run = CliRunner().invoke(app, ["chat", *args], input="q\n")
        assert run.exit_code == 2 and run.output.startswith("Error: "), (args, run.output)


def test_a_conversation_with_the_embedded_model():
    run = CliRunner().invoke(app, ["chat", "-m", "24"],
                             input="What is the capital of France?\nq\n")  # fmt: skip
    assert run.exit_code == 0, run.output
    assert "Paris" in run.output
    assert "pruned by predictor smollm2-135m-instruct" in run.output
    assert "94.7M of 134.5M parameters active" in run.output
