"""Review (fifty-seventh session): ``mlx_ifp generate --keep 1.0`` beside ``mlx_lm generate`` on
the same folder, both run as commands; the README says the replies are the same, greedy or
with the same ``--seed``.

- A packed model on the CPU (unpacked by default): ``--temp 1.0 --seed 3`` gave another reply
  from its first token on (the embedded SmolLM2 too: "L'Abbé Dominique..." for mlx_lm's "Le
  Grand Château..."). mlx-lm's ``dequantize_model`` makes new ``nn.Linear`` layers, whose
  random weights drew from the global random state after the seed; ``mlx_ifp.load`` now keeps
  it, as ``mlx_lm.load`` leaves it.
- ``--system-prompt S`` on a model with no chat template: the reply to "S", a newline, then the
  prompt, where mlx_lm sends the prompt alone (it drops S in silence) and ``mlx_ifp generate``
  refuses ``--chat-template-config`` and ``--prefill-response`` there. Now refused in one line.

The first three tests fail on the code they were written against; the matrix is a guard.
"""

import json
import os
import subprocess
import sys

import mlx_ifp  # first: the optimized BLAS before mlx.core

import mlx.core as mx
import mlx_lm
import pytest
from tiny import save_folder, tiny_model

PROMPT = "t5 t17 t3 t99 t42"
#: a chat template with a system turn, an extra argument (``flag``) and a prefill's open turn
TEMPLATE = (
    "{% for m in messages %}{% if m['role'] == 'system' %}t7 {{ m['content'] }} "
    "{% elif m['role'] == 'user' %}t8 {{ m['content'] }} {% else %}t9 {{ m['content'] }}"
    "{% endif %}{% endfor %}{% if flag %}t6 {% endif %}{% if add_generation_prompt %}t9 {% endif %}"
)


def folder(root, arch: str, template: bool = True, packed: bool = False, **overrides):
    path = save_folder(tiny_model(arch, quantize=packed, **overrides), root / arch, packed)
    if template:
        config = path / "tokenizer_config.json"
        config.write_text(json.dumps({**json.loads(config.read_text()), "chat_template": TEMPLATE}))
    return path


def both(model, *args: str, stdin: str | None = None, ours: tuple = ()):
    """(mlx_lm generate's, mlx_ifp generate's) exit code and stdout, the text alone each."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    theirs = ["mlx_lm", "generate", "--model", str(model), "--verbose", "False"]
    runs, ifp = [], ["mlx_ifp", "generate", "--model", str(model), "--keep", "1.0", "--quiet"]
    for cmd in (theirs, [*ifp, *ours]):
        done = subprocess.run([sys.executable, "-m", *cmd, *args], input=stdin, env=env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        runs.append((done.returncode, done.stdout, done.stderr.strip().splitlines()))
    return runs


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    return folder(tmp_path_factory.mktemp("gencmp"), "llama", packed=True, num_attention_heads=2)


def test_loading_a_packed_model_unpacked_keeps_the_callers_random_state(packed):
    """After ``mx.random.seed(3)``, ``load(..., dequantize=True)`` left another random state
    than ``mlx_lm.load`` does: a seeded sampled reply was not mlx_lm's."""
    states = []
    for load in (mlx_lm.load, lambda p: mlx_ifp.load(p, dequantize=True)):
        mx.random.seed(3)
        load(str(packed))
        states.append(mx.random.state[0].tolist())
    assert states[0] == states[1], states


def test_a_seeded_reply_of_a_packed_model_unpacked_is_mlx_lms(packed):
    """``--temp 1.0 --seed 3`` (unpacked: the CPU's default, given here for every device)."""
    args = ("-p", PROMPT, "-m", "16", "--temp", "1.0", "--seed", "3")
    theirs, ours = both(packed, *args, ours=("--dequantize",))
    assert theirs[0] == ours[0] == 0 and len(theirs[1].split()) > 1, (theirs, ours)
    assert ours[1] == theirs[1], (ours, theirs)


def test_a_system_prompt_on_a_model_with_no_chat_template_is_refused(tmp_path):
    """It was sent as a raw line before the prompt: exit 0, another reply than mlx_lm's."""
    raw = folder(tmp_path, "llama", template=False)
    theirs, ours = both(raw, "-p", PROMPT, "-m", "6", "--system-prompt", "t44 t45")
    assert theirs[0] == 0 and ours[0] == 2 and ours[1] == "", ours
    assert ours[2] == ["Error: --system-prompt: the model has no chat template to take it"]
    theirs, ours = both(raw, "-p", PROMPT, "-m", "6", "--system-prompt", "")  # adds nothing
    assert theirs[0] == ours[0] == 0 and ours[1] == theirs[1], (ours, theirs)


@pytest.fixture(scope="module")
def qwen3(tmp_path_factory):
    return folder(tmp_path_factory.mktemp("gencmp"), "qwen3")  # no make_cache: a rotating cache


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("--temp", "0.9", "--seed", "3", "--top-p", "0.9", "--top-k", "20", "--min-p", "0.05"),
        ("--max-tokens", "1"),
        ("--system-prompt", "t44 t45"),
        ("--chat-template-config", '{"flag": true}'),
        ("--extra-eos-token", "t25"),
        ("--max-kv-size", "6"),
        ("--draft-model", "SAME", "--num-draft-tokens", "2"),
        ("-p", "-"),
    ],
    ids=lambda a: " ".join(a)[:30] or "greedy",
)
def test_the_reply_and_its_framing_are_mlx_lms(qwen3, args):
    """The same stdout (the reply, one newline) for each flag set both commands take."""
    args = [str(qwen3) if a == "SAME" else a for a in args]
    stdin = PROMPT if "-" in args else None
    prompt = [] if stdin else ["-p", PROMPT]
    theirs, ours = both(qwen3, *prompt, "-m", "12", *args, stdin=stdin)
    assert theirs[0] == ours[0] == 0 and theirs[1].endswith("\n"), (theirs, ours)
    assert ours[1] == theirs[1], (ours, theirs)
