"""Review (s44): the ``mlx_lm generate`` / ``mlx_lm chat`` flags a user switching from mlx-lm
types, and the API options behind them.

- ``--adapter-path`` (mlx-lm's name of ``--adapter``), ``--max-kv-size``, ``--kv-bits``,
  ``--kv-group-size``, ``--quantized-kv-start``, ``--prefill-step-size``, ``--draft-model`` /
  ``--num-draft-tokens``, ``--min-tokens-to-keep``, ``--xtc-probability`` / ``--xtc-threshold``
  were "No such option" (chat: ``--adapter-path``, ``--max-kv-size``, ``--prefill-step-size``,
  the XTC pair).
- ``stream_generate(..., min_tokens_to_keep=2)`` / ``xtc_probability=`` were unknown options.
- Bad values reached mlx-lm: ``max_kv_size=4`` (a rotating cache no larger than the 4 tokens it
  keeps) and ``kv_bits`` beside ``max_kv_size`` or on a sliding-window model were tracebacks
  mid-reply; ``kv_bits=7`` too. The re-pick's dense pass ignored ``prefill_step_size``.

Every test here fails on the code it was written against, for the reason in its docstring,
but ``test_kv_and_prefill_options_mean_what_mlx_lm_makes_of_them``: the API passed those
options through already; it pins the meaning the new flags rely on.
"""

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp import UsageError
from mlx_ifp.cli import app
from mlx_ifp.sources.base import Running

import mlx.core as mx
import mlx.nn as nn
import mlx_lm
import pytest
from bad_world import no_model_load
from mlx_lm.sample_utils import make_sampler
from test_review_s44_generate import templated
from test_serve import word_tokenizer
from tiny import endless_tokenizer, tiny_model
from typer.testing import CliRunner

PROMPT = "t5 t17 t3 t99 t42 t7 t8 t9 t10 t11 t12"
NEW = [
    "--max-kv-size",
    "--kv-bits",
    "--kv-group-size",
    "--quantized-kv-start",
    "--prefill-step-size",
    "--draft-model",
    "--num-draft-tokens",
    "--min-tokens-to-keep",
    "--xtc-probability",
    "--xtc-threshold",
    "--adapter-path",
]
CHAT = [
    "--adapter-path",
    "--max-kv-size",
    "--prefill-step-size",
    "--xtc-probability",
    "--xtc-threshold",
]


def qwen():
    """A tiny qwen2 (no ``make_cache``: ``max_kv_size`` rotates its cache) of head dim 32."""
    return tiny_model("qwen2", hidden_size=128)


def invoke(*args, env=None):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "300", **(env or {})})


@pytest.mark.parametrize(("command", "flags"), [("generate", NEW), ("chat", CHAT)])
def test_help_names_each_mlx_lm_flag(command, flags):
    """``mlx_ifp generate --help`` named none of them: ``--max-kv-size`` was no option."""
    run = invoke(command, "--help")
    assert run.exit_code == 0, run.output
    for flag in flags:
        assert flag in run.output, flag


BAD = [
    (["--max-kv-size", "4"], "--max-kv-size must be a whole number >= 5"),
    (["--kv-bits", "7"], "--kv-bits must be one of 2, 3, 4, 5, 6, 8, got 7"),
    (["--kv-group-size", "16"], "--kv-group-size must be"),
    (["--quantized-kv-start", "-1"], "--quantized-kv-start must be"),
    (["--prefill-step-size", "0"], "--prefill-step-size must be"),
    (["--min-tokens-to-keep", "0"], "--min-tokens-to-keep must be a whole number >= 1"),
    (["--xtc-probability", "1.5"], "--xtc-probability must be a number in [0, 1]"),
    (["--xtc-threshold", "0.6"], "--xtc-threshold must be a number in [0, 0.5]"),
    (["--xtc-threshold", "nan"], "--xtc-threshold must be"),
    (["--num-draft-tokens", "2"], "--num-draft-tokens needs --draft-model"),
    (["--draft-model", "d", "--num-draft-tokens", "0"], "--num-draft-tokens must be"),
    (["--draft-model", "d", "--repick", "4"], "not with --repick"),
    (["--draft-model", "d", "--prefill", "dense"], "not with --prefill dense"),
    (["--draft-model", "d", "--max-kv-size", "64"], "--max-kv-size cannot be combined with --d"),
    (["--kv-bits", "4", "--max-kv-size", "64"], "--max-kv-size cannot be combined with --kv-b"),
    (["--draft-model", ""], "--draft-model is empty"),
]


@pytest.mark.parametrize(("args", "said"), BAD)
def test_generate_refuses_a_bad_mlx_lm_flag_in_one_line_before_the_load(monkeypatch, args, said):
    """Each was "No such option"; once passed through, mlx-lm's traceback mid-reply."""
    no_model_load(monkeypatch)
    run = invoke("generate", "-p", "hi", *args)
    assert run.exit_code == 2, run.output
    lines = run.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and said in lines[0], run.output


@pytest.mark.parametrize("args", [["--max-kv-size", "3"], ["--xtc-threshold", "0.9"]])
def test_chat_refuses_a_bad_mlx_lm_flag_before_the_load(monkeypatch, args):
    """``chat --max-kv-size 3`` was "No such option"."""
    no_model_load(monkeypatch)
    run = invoke("chat", *args, env=None)
    assert run.exit_code == 2 and run.output.startswith(f"Error: {args[0]} must"), run.output


@pytest.fixture
def seen(monkeypatch):
    """What ``generate`` hands ``load`` and ``stream_generate`` (a tiny model, a chat template)."""
    got = {}

    def load(name, **kw):
        got.setdefault("loads", []).append((name, kw))
        return qwen(), templated()

    def stream(net, tok, prompt, max_tokens, **kw):
        got.update(kw)
        yield from ()

    monkeypatch.setattr(mlx_ifp, "load", load)
    monkeypatch.setattr(mlx_ifp, "stream_generate", stream)
    return got


def test_generate_passes_the_flags_to_the_api_by_mlx_lm_names(seen):
    """The flags did not exist; left out, none of them is passed (mlx-lm's defaults)."""
    args = [
        "--kv-bits",
        "4",
        "--kv-group-size",
        "32",
        "--quantized-kv-start",
        "0",
        "--prefill-step-size",
        "7",
        "--min-tokens-to-keep",
        "2",
        "--xtc-probability",
        "0.5",
        "--xtc-threshold",
        "0.2",
    ]
    run = invoke("generate", "-p", "hi", "--mask-source", "static", "--kv-group-size", "32")
    assert run.exit_code == 0, run.output
    assert "max_kv_size" not in seen and "xtc_probability" not in seen and seen["kv_group_size"]
    run = invoke("generate", "-p", "hi", "--mask-source", "static", *args)
    assert run.exit_code == 0, run.output
    want = dict(
        kv_bits=4,
        kv_group_size=32,
        quantized_kv_start=0,
        prefill_step_size=7,
        min_tokens_to_keep=2,
        xtc_probability=0.5,
        xtc_threshold=0.2,
    )
    assert {k: seen[k] for k in want} == want
    assert (
        invoke("generate", "-p", "hi", "--mask-source", "static", "--max-kv-size", "64").exit_code
        == 0
    )
    assert seen["max_kv_size"] == 64


def test_adapter_path_is_adapter(seen, tmp_path):
    """``--adapter-path DIR`` (mlx-lm's name) was "No such option"."""
    run = invoke("generate", "-p", "hi", "--adapter-path", str(tmp_path), "--mask-source", "static")
    assert run.exit_code == 0, run.output
    assert seen["loads"][0][1]["adapter_path"] == str(tmp_path)


def test_draft_model_is_loaded_and_reaches_the_api(seen):
    """``--draft-model NAME --num-draft-tokens 2``: loaded after the model (not pruned)."""
    run = invoke(
        "generate",
        "-p",
        "hi",
        "--draft-model",
        "smollm2-135m-instruct",
        "--num-draft-tokens",
        "2",
        "--mask-source",
        "static",
    )
    assert run.exit_code == 0, run.output
    assert [n for n, _ in seen["loads"]][1] == "smollm2-135m-instruct"
    assert isinstance(seen["draft_model"], nn.Module)
    assert seen["num_draft_tokens"] == 2 and "repick" in seen


def test_a_draft_model_of_another_vocabulary_is_refused(monkeypatch):
    """mlx-lm refuses a draft whose tokenizer differs: here too, in one line."""
    tokens = iter([templated(), word_tokenizer(64)])
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: (qwen(), next(tokens)))
    run = invoke("generate", "-p", "hi", "--draft-model", "smollm2-135m-instruct", "--keep", "48")
    assert run.exit_code == 2 and "Error: --draft-model" in run.output, run.output


def test_chat_passes_its_mlx_lm_flags(seen):
    """``chat --max-kv-size 64 --prefill-step-size 9 --xtc-probability 0.3``: no such options."""
    args = ["--max-kv-size", "64", "--prefill-step-size", "9", "--xtc-probability", "0.3"]
    run = CliRunner().invoke(app, ["chat", "--mask-source", "static", *args], input="hi\nq\n")
    assert run.exit_code == 0, run.output
    assert (seen["max_kv_size"], seen["prefill_step_size"], seen["xtc_probability"]) == (64, 9, 0.3)


def slim_and_tokens(model, tok):
    slim, _ = mlx_ifp.select(model, tok, PROMPT, mask_source="static", keep=0.5)
    return slim, tok.encode(PROMPT)


@pytest.mark.parametrize(
    "options",
    [
        dict(max_kv_size=6),
        dict(kv_bits=4, kv_group_size=32, quantized_kv_start=0),
        dict(kv_bits=8, kv_group_size=32, quantized_kv_start=5),
        dict(prefill_step_size=3),
    ],
)
def test_kv_and_prefill_options_mean_what_mlx_lm_makes_of_them(options):
    """The slim model's reply is mlx-lm's own with the same options (they reach mlx-lm); a
    pin, not a failing-first case."""
    model, tok = qwen(), endless_tokenizer()
    kw = dict(mask_source="static", keep=0.5, prefill="slim", chat_template=False)
    ours = list(mlx_ifp.stream_generate(model, tok, PROMPT, 10, **kw, **options))
    slim, ids = slim_and_tokens(model, tok)
    theirs = list(mlx_lm.stream_generate(slim, tok, ids, 10, **options))
    assert [r.token for r in ours] == [r.token for r in theirs]
    assert mx.allclose(ours[-1].logprobs, theirs[-1].logprobs).item()
    plain = list(mlx_ifp.stream_generate(model, tok, PROMPT, 10, **kw))[-1].logprobs
    changed = not mx.allclose(ours[-1].logprobs, plain).item()
    assert changed != ("prefill_step_size" in options)  # a rotated or quantized cache


def test_sampler_options_mean_what_make_sampler_makes_of_them():
    """``min_tokens_to_keep`` and XTC were unknown options (use ``sampler=``)."""
    model, tok = qwen(), endless_tokenizer()
    extra = dict(min_tokens_to_keep=3, xtc_probability=0.9, xtc_threshold=0.01)
    kw = dict(mask_source="static", keep=0.5, prefill="slim", chat_template=False, temp=1.5)
    mx.random.seed(3)
    ours = [
        r.token for r in mlx_ifp.stream_generate(model, tok, PROMPT, 12, min_p=0.5, **kw, **extra)
    ]
    slim, ids = slim_and_tokens(model, tok)
    special = tok.encode("\n") + list(tok.eos_token_ids)
    sampler = make_sampler(1.5, 0.0, 0.5, top_k=0, xtc_special_tokens=special, **extra)
    mx.random.seed(3)
    theirs = [r.token for r in mlx_lm.stream_generate(slim, tok, ids, 12, sampler=sampler)]
    assert ours == theirs


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (dict(max_kv_size=4), "max_kv_size must"),
        (dict(xtc_probability=2), "xtc_probability must"),
        (dict(min_tokens_to_keep=1.5), "min_tokens_to_keep must"),
        (dict(kv_bits=7), "kv_bits must"),
        (dict(max_kv_size=64, kv_bits=4), "max_kv_size cannot be combined with kv_bits"),
        (dict(sampler=make_sampler(0.5), xtc_probability=0.2), "sampler= would drop"),
    ],
)
def test_the_api_refuses_bad_mlx_lm_options_in_one_line(options, said):
    """Each reached mlx-lm: a traceback mid-reply, or an option it did not know."""
    with pytest.raises(UsageError, match=said):
        list(
            mlx_ifp.stream_generate(
                qwen(),
                word_tokenizer(),
                PROMPT,
                2,
                chat_template=False,
                mask_source="static",
                **options,
            )
        )


def test_kv_bits_on_a_sliding_window_model_is_refused_before_the_reply():
    """gemma3's sliding-window layers rotate: mlx-lm's NotImplementedError at the 1st token."""
    model = tiny_model("gemma3_text", hidden_size=128, head_dim=32, query_pre_attn_scalar=32)
    kw = dict(kv_bits=4, kv_group_size=32, quantized_kv_start=0, chat_template=False)
    with pytest.raises(UsageError, match="rotates"):
        list(
            mlx_ifp.stream_generate(model, word_tokenizer(), PROMPT, 2, mask_source="static", **kw)
        )


@pytest.mark.parametrize("prefill", ["auto", "dense"])
def test_options_hold_along_re_picks_and_the_dense_prefill(monkeypatch, prefill):
    """The re-pick's own dense pass ran the prompt in one chunk whatever ``prefill_step_size``;
    with a rotating and a quantized cache the re-picks and the dense prefill still run."""
    steps = []
    feed = Running.feed

    def spy(self, tokens, step=2048, **kw):
        steps.append(step)
        return feed(self, tokens, step, **kw)

    monkeypatch.setattr(Running, "feed", spy)
    model, tok = qwen(), endless_tokenizer()
    kw = dict(mask_source="griffin", repick=4, prefill=prefill, chat_template=False)
    for options in (
        dict(max_kv_size=6, prefill_step_size=3),
        dict(kv_bits=4, kv_group_size=32, quantized_kv_start=0),
    ):
        out = list(mlx_ifp.stream_generate(model, tok, PROMPT, 12, **kw, **options))
        assert len(out) == 12 and out[-1].prune.repicks == 2
    assert steps[0] == 3
