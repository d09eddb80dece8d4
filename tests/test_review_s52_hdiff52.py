"""Review of the fifty-second session's whole change (hdiff52): the cases it found.

- ``load`` on CPU of a source of several float dtypes records each weight's dtype by name
  (``cast_from``) for ``export``; it recorded MLX ``Dtype`` objects, which cannot be pickled,
  so a deep copy of the loaded model (``finetune --train full``'s frozen teacher,
  ``train.objective.frozen_copy``; an app's ``copy.deepcopy``) raised ``TypeError: cannot
  pickle 'Dtype' object``. It records their names now, as it does for a source of one dtype.
"""

import copy
import json

import mlx_ifp
from mlx_ifp.core import origin

import mlx.core as mx
import pytest
import test_chat
from mlx.utils import tree_map_with_path
from test_chat import chat
from tiny import save_folder, tiny_model


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """A folder of float16 matrices beside float32 norms, loaded (on CPU: all cast to float32)."""
    if mx.default_device() != mx.cpu:
        pytest.skip("the float32 cast is the CPU's")
    model = tiny_model()
    half = lambda k, p: p.astype(mx.float32 if "norm" in k else mx.float16)  # noqa: E731
    model.update(tree_map_with_path(half, model.parameters()))
    src = save_folder(model, tmp_path_factory.mktemp("mixed") / "src")
    return src, mlx_ifp.load(str(src))


def test_finetune_train_full_of_a_mixed_source_on_cpu(mixed, tmp_path):
    """The command's path: ``finetune`` loads the folder (on CPU: cast, ``cast_from`` recorded)
    and a full run deep-copies it for its frozen teacher: was ``TypeError: cannot pickle
    'Dtype' object`` before the first step."""
    from mlx_ifp.train import finetune, load_config

    from bad_world import words_data

    src, _ = mixed
    cfg = load_config(model=str(src), data=str(words_data(tmp_path / "data")),
                      output=str(tmp_path / "full"), train="full", quiet=True, iters=1,
                      batch_size=2, max_seq_length=32, val_every=0)  # fmt: skip
    assert (finetune(cfg) / "adapters.safetensors").is_file()


def test_a_mixed_source_loaded_on_cpu_can_be_deep_copied(mixed):
    from mlx_ifp.train.objective import frozen_copy

    _, (net, _) = mixed
    assert isinstance(origin(net)["cast_from"], dict)  # (the case: several float dtypes)
    teacher = frozen_copy(net)  # finetune --train full's teacher: was TypeError
    json.dumps(origin(net)["cast_from"])  # plain names, as a source of one dtype's
    assert copy.deepcopy(net) is not net and teacher is not net


def test_the_copy_still_exports_in_the_source_dtypes(mixed, tmp_path):
    src, (net, tok) = mixed
    out = mlx_ifp.export(copy.deepcopy(net), tok, tmp_path / "out")
    was = mx.load(str(src / "model.safetensors"))
    written = mx.load(str(out / "model.safetensors"))
    assert {k: v.dtype for k, v in written.items()} == {k: v.dtype for k, v in was.items()}


# ------------------------------------------------ chat: a pasted block holding an indented """


turns = test_chat.turns  # the fixture: the message lists each turn sent


def test_a_pasted_block_of_code_with_an_indented_docstring_is_one_message(turns):
    """A block is for a paste, and code pastes hold docstrings: its indented line of three
    quotes closed the block, so the code went out cut in three (``def f():`` a message of its
    own, ``doc`` another turn, the rest a new block). Now only a line of the quotes at its start
    closes a block (it is opened as before, with spaces around too)."""
    code = ["def f():", '    """', "    doc", '    """', "    return 1"]
    run = chat('  """', *code, '"""', "q")
    assert run.exit_code == 0, run.output
    users = [[m["content"] for m in t if m["role"] == "user"] for t in turns]
    assert users == [["\n".join(code)]]  # was three turns: "def f():", "    doc", ...
