"""Review (s44, after the merges): problems between and inside the day's merged changes.

- ``--extra-eos-token ²`` (``extra_eos_tokens=["²"]``): ``str.isdigit`` is true for "²", which
  ``int`` cannot read: a ``ValueError`` traceback, where mlx-lm looks the text up as a token.
- ``generate --system-prompt S --chat-template-config C`` on a template that refuses system
  messages (Gemma's): the error blamed ``--chat-template-config``, which it accepts.
- ``export --format gguf`` of a model read from a ``falcon`` / ``deepseek-coder`` GGUF: the
  exporter named its split ``default``.
- ``generate --draft-model D`` without ``--num-draft-tokens``: the API's defaults (2 drafted
  tokens, 512-token prefill steps), not ``mlx_lm generate``'s (3 and 2048) that ``--help``
  names.

Each test failed on the code it was written against, for the reason above.
"""

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp.cli.generate import check_template
from mlx_ifp.inference.sampling import with_eos

import pytest
from test_review_s44_flags import invoke, seen  # noqa: F401  (the fixture)
from tiny import endless_tokenizer

NO_SYSTEM = (
    "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}{% if flag %}t9 {% endif %}{% for m in messages %}{{ m['content'] }} {% endfor %}"
)


def test_an_extra_eos_token_of_a_digit_sign_is_a_token_not_a_traceback():
    """``"²".isdigit()`` but ``int("²")`` raises: mlx-lm's ``add_eos_token`` then looks it up."""
    tok = endless_tokenizer()
    with pytest.raises(mlx_ifp.UsageError, match="not a token"):  # (none here: one line)
        with_eos(tok, ["²"], 128)
    assert with_eos(tok, ["\u0663"], 128).eos_token_ids == {3}  # int() reads it: an id


def test_a_refused_system_prompt_is_not_blamed_on_the_chat_template_config():
    """Both tried in one call: "--chat-template-config: ... (System role not supported)"."""
    tok = endless_tokenizer()
    tok._tokenizer.chat_template = NO_SYSTEM
    with pytest.raises(mlx_ifp.UsageError, match="^--system-prompt: .*System role"):
        check_template(tok, "be brief", {"flag": True})
    check_template(tok, None, {"flag": True})  # the config alone: taken
    raising = "{% if flag %}{{ raise_exception('no flag') }}{% endif %}{{ messages[0]['content'] }}"
    tok._tokenizer.chat_template = raising
    with pytest.raises(mlx_ifp.UsageError, match="^--chat-template-config: .*no flag"):
        check_template(tok, "be brief", {"flag": True})


def test_a_draft_model_drafts_as_mlx_lm_generate_does(seen):  # noqa: F811
    """Left out, the API's 2 tokens and 512-token prefill steps; mlx_lm generate's are 3, 2048."""
    args = [
        "generate",
        "-p",
        "hi",
        "--mask-source",
        "static",
        "--draft-model",
        "smollm2-135m-instruct",
    ]
    run = invoke(*args)
    assert run.exit_code == 0, run.output
    assert seen["num_draft_tokens"] == 3 and seen["prefill_step_size"] == 2048
    run = invoke(*args, "--num-draft-tokens", "5", "--prefill-step-size", "64")
    assert run.exit_code == 0, run.output
    assert seen["num_draft_tokens"] == 5 and seen["prefill_step_size"] == 64
    seen.clear()
    assert invoke(*args[:5]).exit_code == 0 and "num_draft_tokens" not in seen  # no draft


@pytest.mark.parametrize("pre", ["falcon", "deepseek-coder"])
def test_a_pre_tokenizer_of_several_splits_is_exported_under_its_own_name(pre):
    """Since the importer splits `falcon` and `deepseek-coder` files with their own regexes, a
    model read from one and exported again (``export --format gguf``) was named `default`:
    llama.cpp then split its prompts otherwise (other token ids)."""
    from mlx_ifp.convert.exporters import pre_tokenizer_name
    from mlx_ifp.models import gguf as importer

    from test_gguf import tokenizer_meta

    meta = {**tokenizer_meta(300), "tokenizer.ggml.pre": pre}
    assert pre_tokenizer_name(importer.build_tokenizer(meta).backend_tokenizer) == pre
