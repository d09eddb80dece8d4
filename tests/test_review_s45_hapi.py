"""Review (s45): the Python API as an app developer uses it, beside mlx-lm's.

- ``mlx_ifp.load(path, tokenizer_config={...})`` (also ``model_config``, ``return_config``,
  ``revision``, ``trust_remote_code``: ``mlx_lm.load``'s keyword arguments, and the docstring
  says it returns what ``mlx_lm.load`` does): ``TypeError: load() got an unexpected keyword
  argument``.
- ``generate(..., sampler=3)``, ``logits_processors=fn`` (one function, not a list),
  ``prompt_cache=[1, 2]``, ``draft_model="small"``, ``prompt_progress_callback=5``: a
  ``TypeError`` / ``AttributeError`` traceback from inside mlx-lm, mid-generation.
- ``Pruner(model, "tokenizer")`` then ``slim_for(text)``: ``LookupError: unknown encoding``;
  ``pruner.slim_from_mask("m.safetensors")``: ``AttributeError: 'str' object has no attribute
  'check'``; ``check_model(None)`` / ``check_model(3)``: pathlib's ``TypeError``.
- ``mask.save("masks/")`` (a folder, as ``export`` takes one): the mask was written beside the
  folder, as ``masks.safetensors`` + ``masks.json``.

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp import UsageError

import pytest
from test_serve import word_tokenizer
from tiny import save_folder, tiny_model

PROMPT = "t5 t17 t3 t99 t42"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return save_folder(tiny_model("llama"), tmp_path_factory.mktemp("hapi") / "model")


def test_load_takes_mlx_lm_loads_keyword_arguments(folder):
    """``load(path, tokenizer_config=..., return_config=True, ...)``: a ``TypeError``."""
    model, tok, config = mlx_ifp.load(
        str(folder),
        tokenizer_config={"eos_token": "t7"},
        model_config={"rms_norm_eps": 1e-6},
        return_config=True,
        trust_remote_code=False,
    )
    assert config["model_type"] == "llama" and config["rms_norm_eps"] == 1e-6
    assert tok.eos_token == "t7"
    assert len(mlx_ifp.load(str(folder), return_config=False)) == 2
    with pytest.raises(UsageError, match="tokenizer_config must be a dict"):
        mlx_ifp.load(str(folder), tokenizer_config="t7")
    with pytest.raises(UsageError, match="revision is for a Hugging Face repo id"):
        mlx_ifp.load(str(folder), revision="main")


@pytest.mark.parametrize(
    "option, value, said",
    [
        ("sampler", 3, "sampler must be a function"),
        ("logits_processors", lambda tokens, logits: logits, "logits_processors must be a list"),
        ("prompt_cache", [1, 2], "prompt_cache must be a list of KV caches"),
        ("draft_model", "small", "draft_model must be an mlx-lm model"),
        ("prompt_progress_callback", 5, "prompt_progress_callback must be a function"),
    ],
)
def test_mlx_lm_options_of_the_wrong_kind_are_one_line(option, value, said):
    """mlx-lm's options were passed on unchecked: its traceback, in the middle of the call."""
    model, tok = tiny_model("llama"), word_tokenizer()
    with pytest.raises(UsageError, match=said):
        mlx_ifp.generate(model, tok, PROMPT, max_tokens=2, chat_template=False, **{option: value})


def test_pruner_parts_of_the_wrong_kind_are_one_line():
    """A str for the tokenizer: ``LookupError`` at ``slim_for``; a path for ``slim_from_mask``:
    ``AttributeError``; ``check_model(None)``: ``TypeError``."""
    model = tiny_model("llama")
    with pytest.raises(UsageError, match="a tokenizer is needed .*, got str"):
        mlx_ifp.Pruner(model, "tokenizer").slim_for(PROMPT)
    pruner = mlx_ifp.Pruner(model, word_tokenizer())
    with pytest.raises(UsageError, match="mask must be an mlx_ifp.Mask, got str"):
        pruner.slim_from_mask("m.safetensors")
    for bad in (None, 3):
        with pytest.raises(UsageError, match="model must be a name or a path"):
            mlx_ifp.check_model(bad)


def test_a_mask_saved_to_a_folder_is_refused(tmp_path):
    """``mask.save("masks/")`` wrote ``masks.safetensors`` beside the folder."""
    model, tok = tiny_model("llama"), word_tokenizer()
    _, info = mlx_ifp.select(model, tok, PROMPT)
    (tmp_path / "masks").mkdir()
    for path in (f"{tmp_path / 'masks'}/", tmp_path / "masks"):
        with pytest.raises(UsageError, match="is a folder"):
            info.mask.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["masks"]
    assert info.mask.save(tmp_path / "masks" / "m").name == "m.safetensors"  # a file in it
