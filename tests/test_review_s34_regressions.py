"""Review (session 34) of the day's changes for regressions: each test describes behaviour
that worked at d3dad30 and fails now. All run on tiny random models or plain files."""

import os
from dataclasses import dataclass

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp.inference.generation import select, stream_generate
from mlx_ifp.models import gguf
from mlx_ifp.sources import SOURCES, make_source

import numpy as np
import pytest
from tiny import endless_tokenizer, save_folder, tiny_model

PROMPT = "t5 t17 t3 t99 t42"


@pytest.fixture(scope="module")
def tiny():
    return tiny_model("llama"), endless_tokenizer()


def test_a_numpy_string_prompt_is_text_not_token_ids(tiny):
    """``np.str_`` is a ``str`` (a prompt read from a NumPy or pandas column). d7629d4's
    ``prompt_ids`` takes anything with ``tolist`` for token ids, so it is now refused with
    "token ids must be a list of ints ... got str"; it was generated from before."""
    model, tok = tiny
    prompt = np.array([PROMPT])[0]
    assert isinstance(prompt, str)
    got = [r.token for r in stream_generate(model, tok, prompt, 3, mask_source="griffin")]
    assert got == [r.token for r in stream_generate(model, tok, PROMPT, 3, mask_source="griffin")]
    _, info = select(model, tok, prompt, mask_source="griffin", keep=0.25)
    _, ref = select(model, tok, PROMPT, mask_source="griffin", keep=0.25)
    assert info.mask.digest() == ref.mask.digest()


@dataclass
class _Factory:
    """A plug-in factory that is a callable dataclass instance (unhashable: eq=True)."""

    name: str = "random"

    def __call__(self, **options):
        return make_source(self.name, **options)


def test_a_plug_in_whose_factory_is_unhashable_still_generates(tiny, monkeypatch):
    """``register_source`` takes any callable. a48b0ed puts the factory itself into
    ``get_pruner``'s dict key, so an unhashable one (a dataclass instance) now raises
    ``TypeError: unhashable type`` at every generation; it worked before (key it by ``id``
    and check identity on a hit, as the model and tokenizer are)."""
    model, tok = tiny
    monkeypatch.setitem(SOURCES, "review-unhashable", _Factory())
    text = mlx_ifp.generate(
        model, tok, PROMPT, max_tokens=3, mask_source="review-unhashable", keep=0.5
    )
    assert isinstance(text, str)


def test_the_gguf_cache_survives_a_chmod_of_the_file(tmp_path, monkeypatch):
    """c680402 keys a GGUF's conversion by ctime and inode too: any metadata change (chmod,
    a hard link, an xattr, a copy or restore of the file and the cache with times kept) now
    misses the cache, converts the whole file again and leaves the old conversion behind.
    The same file, unchanged, must keep its cached conversion."""
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(gguf, "is_converted", lambda folder, source_id=None: True)  # none here
    path = tmp_path / "m.gguf"
    path.write_bytes(b"GGUF" + bytes(60))
    before = gguf.cached_gguf_folder(path)
    os.chmod(path, 0o600)  # content and mtime unchanged
    assert gguf.cached_gguf_folder(path) == before


def test_load_lets_a_bug_that_is_not_about_the_files_propagate(tmp_path, monkeypatch):
    """5cc9274 turns every Exception from mlx-lm's load into "could not load MODEL: ..."
    (exit 2, no traceback), so a programming error (here a NameError; an AttributeError of an
    mlx/mlx-lm mismatch alike) reads as a bad model folder. Catch the types bad files raise
    (huggingface_hub's StrictDataclassError among them), not Exception."""
    import mlx_lm

    folder = save_folder(tiny_model("llama"), tmp_path / "m")

    def broken(*args, **kwargs):
        raise NameError("name 'rope' is not defined")

    monkeypatch.setattr(mlx_lm, "load", broken)
    with pytest.raises(NameError):
        mlx_ifp.load(str(folder))


def test_top_k_as_large_as_the_vocabulary_is_no_crash(tiny):
    """302fdc5's ``top_k`` is checked only for ``>= 0``: a value of the vocabulary's size or
    more (every token kept: top-k off) reaches mlx-lm's sampler, whose bare ValueError
    "``top_k`` has to be an integer in the (0, 128) interval" is a traceback in ``generate``
    and a 500 in the server. It should sample as top-k off (or be one UsageError line)."""
    model, tok = tiny
    try:
        text = mlx_ifp.generate(
            model, tok, PROMPT, max_tokens=3, temp=1.0, top_k=128, mask_source="griffin"
        )
    except mlx_ifp.UsageError:
        return
    assert isinstance(text, str)


def test_a_tasks_file_with_a_yaml_merge_key_is_read(tmp_path):
    """3d8a2f0's duplicate-name loader constructs every key node itself, and a merge key
    (``<<: *anchor``, valid YAML that ``yaml.safe_load`` reads) has no constructor: the file
    is now "not valid YAML". Flatten merges first (``self.flatten_mapping(node)``) or skip the
    merge tag when looking for duplicates."""
    from mlx_ifp.serve.registry import read_tasks

    path = tmp_path / "tasks.yaml"
    path.write_text(
        "base: &b\n  task: Write Python code.\ncode:\n  <<: *b\nmath: Solve math problems.\n"
    )
    tasks = read_tasks(path)
    assert tasks["code"] == {"task": "Write Python code."}
    assert tasks["math"] == {"task": "Solve math problems."}
