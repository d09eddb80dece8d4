"""Per-task masks from examples with their replies (forty-first session): a task example
``{"prompt", "completion"}`` is read as the prompt's turn, then the reply (``core.
example_tokens``), in the API, ``generate --task @FILE.jsonl`` and the server's tasks YAML. On
the validation split it brought the shipped predictor's per-task mask from +1.5% to +0.9% NLL
of the per-input masks (``docs/results/task_replies/``)."""

import json

import mlx_ifp
from mlx_ifp.common import UsageError
from mlx_ifp.core import example_tokens, turn_tokens
from mlx_ifp.inference import Pruner
from mlx_ifp.serve.registry import read_tasks
from mlx_ifp.sources import make_source

import numpy as np
import pytest
from test_serve import word_tokenizer
from tiny import tiny_model

EXAMPLES = [
    {"prompt": "t5 t6 t7", "completion": "t30 t31 t32 t33"},
    {"prompt": "t8 t9", "completion": "t40 t41"},
]


def test_an_example_is_its_prompt_then_its_reply_then_the_end():
    tok = word_tokenizer()
    got = example_tokens(tok, EXAMPLES[0])
    assert got == [*turn_tokens(tok, "t5 t6 t7"), 30, 31, 32, 33, tok.eos_token_id]
    assert example_tokens(tok, {"prompt": "t8 t9"}) == turn_tokens(tok, "t8 t9")


@pytest.mark.parametrize(
    "bad",
    [{"prompt": ""}, {"completion": "t5"}, {"prompt": "t5", "reply": "t6"},
     {"prompt": "t5", "completion": 3}],
)  # fmt: skip
def test_a_bad_example_is_one_line(bad):
    with pytest.raises(UsageError, match="a task example is"):
        example_tokens(word_tokenizer(), bad)


def test_the_pruner_picks_one_mask_from_the_examples_and_their_replies():
    model, tok = tiny_model("llama"), word_tokenizer()
    pruner = Pruner(model, tok, source="griffin", keep=0.5)
    slim, info = pruner.slim_for(EXAMPLES)
    want = make_source("griffin").select_examples(
        model, [example_tokens(tok, e) for e in EXAMPLES], pruner.k
    )
    assert np.array_equal(np.array(info.mask.indices), np.array(want.indices))
    prompts_only = pruner.slim_for([e["prompt"] for e in EXAMPLES])[1].mask
    assert not np.array_equal(np.array(prompts_only.indices), np.array(want.indices))
    again, hit = pruner.slim_for([dict(e) for e in EXAMPLES])
    assert hit.cache_hit and again is slim
    text = mlx_ifp.generate(model, tok, "t5", max_tokens=3, task=EXAMPLES, keep=0.5)
    assert text == mlx_ifp.generate(model, tok, "t5", max_tokens=3, mask=info.mask)


def test_the_cli_and_the_tasks_yaml_read_examples_with_replies(tmp_path):
    from mlx_ifp.cli.generate import read_task

    rows = [EXAMPLES[0], {"prompt": "t8 t9", "domain": "x"}, "t10 t11"]
    (tmp_path / "t.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert read_task(f"@{tmp_path / 't.jsonl'}") == [EXAMPLES[0], "t8 t9", "t10 t11"]
    (tmp_path / "t.yaml").write_text(
        "code:\n  - {prompt: Write a sort., completion: 'def sort(x): ...'}\n  - Fix this loop.\n"
    )
    want = [{"prompt": "Write a sort.", "completion": "def sort(x): ..."}, "Fix this loop."]
    assert read_tasks(tmp_path / "t.yaml") == {"code": {"task": want}}
    (tmp_path / "bad.yaml").write_text("code:\n  - {prompt: Sort., answer: x}\n")
    with pytest.raises(UsageError, match="task 'code': a task example is"):
        read_tasks(tmp_path / "bad.yaml")
