"""A macOS-app developer's walk through the Python API (fifty-first session, review).

- A mask picked by a predictor trained with a LoRA, given to ``generate``/``stream_generate``/
  ``select``/``Pruner.for_mask`` of another model (the mask read with ``Mask.load(path)``, no
  model), was refused as "load the model with [the predictor's] lora weights", not as a mask of
  another model (``prune``, ``Mask.load(path, model)`` and the CLI said so).
- A transformers tokenizer (not mlx-lm's wrapper: ``mlx_lm.stream_generate`` wraps one itself)
  ran ``generate``/``stream_generate`` until ``extra_eos_tokens`` or ``xtc_probability`` was
  given: then a ``TypeError: 'int' object is not iterable`` from inside mlx_ifp (its
  ``eos_token_ids`` is transformers' one id, not mlx-lm's set). ``export_gguf`` with one:
  the same ``TypeError`` (where the GGUF's end tokens are read).
- Text a mask is picked from (a ``task``, ``mask_prompt``, ``select``'s prompt,
  ``Pruner.slim_for``) encoded by a tokenizer whose ids pass the model's vocabulary (another
  model's tokenizer) ran the dense model on ids outside its embedding, and a mask came back; the
  same ids as the prompt were refused in one line.
- ``stream_generate(..., mask_prompt=TEXT)`` with a source whose per-prompt mask is read off the
  prompt's dense pass (GRIFFIN, the default of a model with no shipped predictor;
  ``prefill="auto"`` or ``"dense"``) ignored ``mask_prompt``: the mask was the prompt's.
- An empty list as the prompt (no new tokens for a ``prompt_cache``, no messages), or a list of
  strs (a batch, as ``mlx_lm.batch_generate`` takes), was refused as "the prompt must be a str
  or a list of chat messages, got list": a list was given, and what was wrong with it unsaid.
"""

from types import SimpleNamespace

import mlx_ifp
from mlx_ifp.bench.models import synthetic_tokenizer

import pytest
from tiny import finetune_folder, save_folder, tiny_model


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny llama loaded with a LoRA run (its predictor picks a mask), and another model."""
    root = tmp_path_factory.mktemp("s51api")
    model = tiny_model("llama")
    run = finetune_folder(model, root / "run", k=48, train="lora")
    mine, tok = mlx_ifp.load(str(save_folder(model, root / "mine")), adapter_path=str(run))
    _, info = mlx_ifp.Pruner(mine, tok, keep=48).slim_for("t2 t3 t4")
    info.mask.save(root / "m")
    mask = mlx_ifp.Mask.load(root / "m.safetensors")  # no model: read, not checked yet
    other = tiny_model("llama", num_hidden_layers=4)
    return SimpleNamespace(mask=mask, other=other, tok=synthetic_tokenizer(128))


CALLS = {
    "generate": lambda w: mlx_ifp.generate(w.other, w.tok, "t2 t3", max_tokens=2, mask=w.mask),
    "stream_generate": lambda w: list(
        mlx_ifp.stream_generate(w.other, w.tok, "t2 t3", 2, mask=w.mask)
    ),
    "select": lambda w: mlx_ifp.select(w.other, w.tok, mask=w.mask),
    "Pruner.for_mask": lambda w: mlx_ifp.Pruner.for_mask(w.other, w.tok, w.mask),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_predictors_mask_for_another_model_is_refused_as_such_in_the_api(world, call):
    with pytest.raises(mlx_ifp.UsageError) as e:
        CALLS[call](world)
    msg = str(e.value)
    assert "another model" in msg and "lora" not in msg, msg
    assert "\n" not in msg


def stops_at(tok, extra):
    model = tiny_model("llama")
    return mlx_ifp.generate(model, tok, "t5 t6 t7", max_tokens=12, extra_eos_tokens=extra)


def test_extra_eos_tokens_with_a_transformers_tokenizer_stop_as_with_mlx_lms_wrapper():
    wrapped = synthetic_tokenizer(128)
    raw = wrapped._tokenizer  # what AutoTokenizer gives; mlx-lm's stream_generate takes it
    free = stops_at(wrapped, None).split()
    assert len(free) > 3 and free[2] not in free[:2], free  # a token to stop at, third
    assert stops_at(raw, None) == " ".join(free)
    assert stops_at(raw, [free[2]]) == stops_at(wrapped, [free[2]]) == " ".join(free[:2])
    assert raw.eos_token_id == 1  # the caller's tokenizer is left as it was


def test_xtc_with_a_transformers_tokenizer_samples_as_with_mlx_lms_wrapper():
    import mlx.core as mx

    model, wrapped = tiny_model("llama"), synthetic_tokenizer(128)
    xtc = dict(max_tokens=8, temp=1.0, xtc_probability=0.9, xtc_threshold=0.01)
    out = []
    for tok in (wrapped, wrapped._tokenizer):
        mx.random.seed(3)
        out.append(mlx_ifp.generate(model, tok, "t5 t6 t7", **xtc))
    assert out[0] == out[1] and out[0].strip(), out


def test_export_gguf_with_a_transformers_tokenizer_writes_the_wrappers_file(tmp_path):
    pytest.importorskip("gguf")
    from test_gguf_export import random_mask, tiny

    model, wrapped = tiny("llama")
    mask = random_mask(model)
    slim = mlx_ifp.prune(model, mask)
    a = mlx_ifp.export_gguf(slim, wrapped, tmp_path / "a.gguf", "f16", mask=mask)
    b = mlx_ifp.export_gguf(slim, wrapped._tokenizer, tmp_path / "b.gguf", "f16", mask=mask)
    assert a.read_bytes() == b.read_bytes()


def big_ids_tokenizer():
    """A tokenizer of 300 words for a model of 128: "t200" encodes past its embedding."""
    return synthetic_tokenizer(300)


OUTSIDE = {
    "task": lambda m, t: mlx_ifp.generate(m, t, [5, 6], max_tokens=2, task="t200 t201"),
    "task examples": lambda m, t: mlx_ifp.generate(m, t, [5, 6], max_tokens=2, task=["t200"]),
    "mask_prompt": lambda m, t: mlx_ifp.generate(
        m, t, [5, 6], max_tokens=2, mask_prompt="t250", prefill="slim"
    ),
    "select": lambda m, t: mlx_ifp.select(m, t, "t200 t5", mask_source="griffin"),
    "slim_for": lambda m, t: mlx_ifp.Pruner(m, t, source="griffin").slim_for("t5 t299"),
}


@pytest.mark.parametrize("call", sorted(OUTSIDE))
def test_text_a_mask_reads_is_refused_past_the_models_vocabulary(call):
    model = tiny_model("llama")  # vocabulary 128
    with pytest.raises(mlx_ifp.UsageError, match="outside the model's vocabulary"):
        OUTSIDE[call](model, big_ids_tokenizer())


@pytest.mark.parametrize("prefill", ["auto", "dense", "slim"])
def test_mask_prompt_is_what_a_griffin_mask_reads_whatever_the_prefill(prefill):
    import mlx.core as mx

    model, tok = tiny_model("llama"), synthetic_tokenizer(128)
    reads = "t40 t50 t60 t70 t80"
    want = mlx_ifp.select(model, tok, reads, mask_source="griffin")[1].mask
    prompt_own = mlx_ifp.select(model, tok, "t5 t6 t7 t8", mask_source="griffin")[1].mask
    assert not mx.array_equal(want.indices, prompt_own.indices)  # the two texts pick apart
    stream = mlx_ifp.stream_generate(model, tok, "t5 t6 t7 t8", 2, mask_prompt=reads,
                                     prefill=prefill)  # fmt: skip
    records = list(stream)
    assert mx.array_equal(records[-1].prune.mask.indices, want.indices)
    assert (records[-1].prune.prefill_s > 0) == (prefill != "slim")  # the KV cache: dense


@pytest.mark.parametrize(
    "prompt, says",
    [([], "the prompt is empty"), (["t5", "t6"], "list of str"), (["t5", 6], "list of str, int")],
)
def test_a_prompt_list_that_is_no_prompt_says_what_it_holds(prompt, says):
    model, tok = tiny_model("llama"), synthetic_tokenizer(128)
    for call in (
        lambda: mlx_ifp.generate(model, tok, prompt, max_tokens=2),
        lambda: mlx_ifp.generate(model, tok, [5, 6], max_tokens=2, mask_prompt=prompt),
    ):
        with pytest.raises(mlx_ifp.UsageError) as e:
            call()
        assert says in str(e.value) and "\n" not in str(e.value), str(e.value)
