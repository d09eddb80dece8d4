"""Edge cases of the public Python API found in review (each test failed before its fix).

Bad input is one ``UsageError`` line, never a raw error from deep inside nor a silent wrong
result. All run on the tiny random models of ``tiny.py``.
"""

import math

import mlx_ifp
from mlx_ifp import Mask, MaskSource, UsageError
from mlx_ifp.sources import SOURCES

import mlx.core as mx
import numpy as np
import pytest
from tiny import endless_tokenizer, save_folder, tiny_model

P = "t5 t6 t7 t8"
L, D = 3, 96  # the tiny llama's layers and FFN channels


@pytest.fixture(scope="module")
def tiny():
    tok = endless_tokenizer()
    return tiny_model("llama"), tok


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    folder = save_folder(tiny_model("llama"), tmp_path_factory.mktemp("m") / "model")
    return (*mlx_ifp.load(folder), folder)


@pytest.fixture(autouse=True)
def registry():
    """Sources registered by a test are gone after it."""
    before = dict(SOURCES)
    yield
    SOURCES.clear()
    SOURCES.update(before)


def gen(model, tok, prompt=P, **kw):
    kw = {"max_tokens": 2, "chat_template": False, "mask_source": "griffin", **kw}
    return mlx_ifp.generate(model, tok, prompt, **kw)


def one_line(fn, match=None):
    with pytest.raises(UsageError, match=match) as e:
        fn()
    assert "\n" not in str(e.value).strip()


def scored(fn, name=None):
    """A custom source whose scores are ``fn(model, tokens)``."""
    cls = type("Custom", (MaskSource,), {"scores": lambda self, m, t: fn(m, t)})
    if name:
        cls.name = name
    return cls()


# --- custom sources that name no `name` shared one cache entry: the second got the first's mask


def test_two_custom_sources_without_a_name_do_not_share_masks(tiny):
    model, tok = tiny
    ramp = mx.broadcast_to(mx.arange(D, dtype=mx.float32), (L, D))

    class Low(MaskSource):
        def scores(self, model, tokens):
            return -ramp

    class High(MaskSource):
        def scores(self, model, tokens):
            return ramp

    _, low = mlx_ifp.select(model, tok, P, mask_source=Low())
    _, high = mlx_ifp.select(model, tok, P, mask_source=High())
    assert low.mask.indices[0, 0].item() == 0
    assert high.mask.indices[0, 0].item() == D // 2, "High() was served Low()'s cached mask"
    # the same class under two registered names, made differently: two cache entries too
    mlx_ifp.register_source("edge-low", lambda **kw: scored(lambda m, t: -ramp))
    mlx_ifp.register_source("edge-high", lambda **kw: scored(lambda m, t: ramp))
    _, a = mlx_ifp.select(model, tok, P, mask_source="edge-low")
    _, b = mlx_ifp.select(model, tok, P, mask_source="edge-high")
    assert a.mask.indices[0, 0].item() == 0 and b.mask.indices[0, 0].item() == D // 2


# --- a custom source's scores of the wrong shape, NaN, None or not an array ----------------------


@pytest.mark.parametrize(
    "fn",
    [
        lambda m, t: mx.random.uniform(shape=(L, 10)),  # silently a 10-channel model
        lambda m, t: mx.random.uniform(shape=(L, D + 5)),  # channels past the FFN
        lambda m, t: mx.full((L, D), math.nan),  # indices D (out of range): garbage
        lambda m, t: mx.where(mx.arange(D) % 2 == 0, math.nan, 1.0),
        lambda m, t: None,  # silently kept every channel
        lambda m, t: "scores",
    ],
    ids=["too-narrow", "too-wide", "nan", "some-nan", "none", "text"],
)
@pytest.mark.parametrize("how", ["select", "generate", "task-examples"])
def test_bad_scores_from_a_custom_source_are_one_line(tiny, fn, how):
    model, tok = tiny
    src = scored(fn, name=f"edge-bad-{id(fn)}")
    run = {
        "select": lambda: mlx_ifp.select(model, tok, P, mask_source=src),
        "generate": lambda: gen(model, tok, mask_source=src, prefill="slim"),
        "task-examples": lambda: mlx_ifp.select(model, tok, task=[P, "t9 t10"], mask_source=src),
    }[how]
    one_line(run, "mask source")


def test_numpy_scores_from_a_custom_source_work(tiny):
    model, tok = tiny  # they raised TypeError: Cannot interpret 'mlx.core.float32'
    ramp = np.broadcast_to(np.arange(D, dtype=np.float32), (L, D))
    _, info = mlx_ifp.select(model, tok, P, mask_source=scored(lambda m, t: ramp, "edge-np"))
    assert info.mask.indices[0, 0].item() == D // 2


# --- register_source / make_source -----------------------------------------------------------


def test_a_built_in_source_cannot_be_replaced():
    before = SOURCES["griffin"]
    one_line(lambda: mlx_ifp.register_source("griffin", lambda **kw: scored(lambda m, t: None)))
    assert SOURCES["griffin"] is before  # it was replaced: every model's default source


@pytest.mark.parametrize(
    "name, factory",
    [(5, lambda **kw: None), ("", lambda **kw: None), ("edge-not-callable", 5)],
    ids=["int-name", "empty-name", "not-callable"],
)
def test_register_source_refuses_bad_arguments(name, factory):
    one_line(lambda: mlx_ifp.register_source(name, factory))
    assert name not in SOURCES


@pytest.mark.parametrize(
    "factory",
    [lambda **kw: 5, lambda: scored(lambda m, t: None), MaskSource],
    ids=["returns-int", "takes-no-options", "abstract-class"],
)
def test_a_bad_factory_is_one_line_at_use(tiny, factory):
    model, tok = tiny  # AttributeError / TypeError from deep inside before
    mlx_ifp.register_source("edge-factory", factory)
    one_line(lambda: mlx_ifp.select(model, tok, P, mask_source="edge-factory"), "mask source")


# --- prompts and tasks of the wrong type ----------------------------------------------------


@pytest.mark.parametrize(
    "kw",
    [
        dict(prompt=b"t5 t6"),  # silently selected for the text "b't5 t6'"
        dict(prompt=5),  # silently selected for "5"
        dict(prompt=["t5", "t6"]),  # AttributeError: 'str' object has no attribute 'get'
        dict(prompt=[{"role": "user", "content": None}]),  # selected for "None"
        dict(prompt=[{"role": "user", "content": [{"type": "text", "text": "t5"}]}]),
        dict(task=5),  # TypeError: 'int' object is not iterable
        dict(task=["t5", 3]),
        dict(task=[3, "t5"]),
        dict(task=[b"t5"]),
    ],
    ids=["bytes", "int", "list-of-str", "content-none", "content-parts", "task-int",
         "task-mixed", "task-mixed-int-first", "task-bytes"],
)  # fmt: skip
def test_select_refuses_prompts_and_tasks_of_the_wrong_type(tiny, kw):
    model, tok = tiny
    prompt = kw.pop("prompt", None)
    one_line(lambda: mlx_ifp.select(model, tok, prompt, mask_source="griffin", **kw))


def test_generate_refuses_a_message_whose_content_is_not_text(tiny):
    model, tok = tiny
    for content in (None, 5, [{"type": "text", "text": "t5"}]):
        one_line(lambda c=content: gen(model, tok, [{"role": "user", "content": c}]))


def test_without_the_chat_template_nothing_is_silently_dropped(tiny):
    model, tok = tiny  # only the first user turn was sent: system prompt and other turns lost
    one_line(lambda: gen(model, tok, system_prompt="t9 t9 t9"), "chat_template")
    turns = [{"role": "user", "content": P}, {"role": "assistant", "content": "t9"}]
    one_line(lambda: gen(model, tok, [*turns, {"role": "user", "content": "t7"}]), "chat_template")
    assert gen(model, tok, turns[:1]) == gen(model, tok, P)  # one user turn: fine


# --- generation options -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw, hint",
    [(dict(temperature=0.7), "temp"), (dict(max_new_tokens=5), "max_tokens"), (dict(foo=1), None)],
    ids=["temperature", "max_new_tokens", "foo"],
)
def test_an_unknown_option_is_one_line_naming_it(tiny, kw, hint):
    model, tok = tiny  # TypeError: generate_step() got an unexpected keyword argument
    name = next(iter(kw))
    one_line(lambda: gen(model, tok, **kw), name)
    if hint:
        one_line(lambda: gen(model, tok, **kw), f"did you mean {hint}")


def test_max_tokens_given_positionally_to_generate_is_refused(tiny, capsys):
    model, tok = tiny  # it became verbose=64: printed to stdout, generated 256 tokens
    one_line(lambda: mlx_ifp.generate(model, tok, P, 64, chat_template=False), "max_tokens")
    assert capsys.readouterr().out == ""


def test_a_pruner_of_another_model_is_refused(tiny):
    model, tok = tiny  # the reply came silently from the other model's slim copy
    other = mlx_ifp.Pruner(tiny_model("llama", seed=1), tok, "griffin")
    one_line(lambda: gen(model, tok, pruner=other), "another model")
    one_line(lambda: mlx_ifp.select(model, tok, P, pruner=other), "another model")
    one_line(lambda: gen(model, tok, pruner="griffin"), "Pruner")


def test_a_negative_cache_size_is_one_line(tiny):
    model, tok = tiny  # KeyError: 'dictionary is empty' at the first selection
    one_line(lambda: mlx_ifp.Pruner(model, tok, "griffin", cache_size=-1), "cache_size")
    assert mlx_ifp.Pruner(model, tok, "griffin", cache_size=0).slim_for(P)[1].mask.k == D // 2


# --- hand-made masks ---------------------------------------------------------------------------


def _mask(model, idx, d=D, fp=True):
    return Mask(idx, d, mlx_ifp.Mask.full(model).model if fp else {})


@pytest.mark.parametrize(
    "idx, d",
    [
        (mx.full((L, 2), 500, mx.int32), D),  # out of range: gathered garbage silently
        (mx.array([[-1, 1]] * L, mx.int32), D),
        (mx.array([[1, 1]] * L, mx.int32), D),  # one channel twice: counted double
        (mx.array([[0, 1]] * L, mx.int32), 64),  # a mask for a 64-wide FFN
        (mx.array([[0.0, 1.0]] * L), D),  # ValueError from gather
        ([[0, 1]] * L, D),  # AttributeError
    ],
    ids=["out-of-range", "negative", "duplicate", "other-width", "float", "list"],
)
@pytest.mark.parametrize("fp", [True, False], ids=["fingerprinted", "bare"])
def test_a_mask_that_does_not_fit_the_model_is_refused(tiny, idx, d, fp):
    model, tok = tiny
    mask = _mask(model, idx, d, fp)
    one_line(lambda: mlx_ifp.prune(model, mask), "mask")
    one_line(lambda: gen(model, tok, mask=mask), "mask")


def test_mask_save_to_a_bad_place_is_one_line_and_writes_nothing(tiny, tmp_path):
    model, _ = tiny
    mask = Mask.full(model)
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "a_dir.json").mkdir()  # the sidecar's place is taken: no lone .safetensors
    for path in (tmp_path / "a_file" / "m", tmp_path / "a_dir", None):
        one_line(lambda p=path: mask.save(p))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_dir.json", "a_file"]


# --- export and load ---------------------------------------------------------------------------


def test_export_refuses_bad_arguments_before_writing(loaded, tmp_path):
    model, tok, _ = loaded
    slim, info = mlx_ifp.select(model, tok, P, mask_source="griffin")
    one_line(lambda: mlx_ifp.export(slim, tok, tmp_path / "o", dtype="int8"), "dtype")  # garbage
    one_line(lambda: mlx_ifp.export(slim, tok, tmp_path / "o", dtype="fp16"), "dtype")
    one_line(lambda: mlx_ifp.export(slim, tok, tmp_path / "o", mask="m.safetensors"), "Mask")
    one_line(lambda: mlx_ifp.export(slim, tok, None), "output")
    assert list(tmp_path.iterdir()) == []
    assert (mlx_ifp.export(slim, tok, tmp_path / "ok", mask=info.mask) / "config.json").is_file()


@pytest.mark.parametrize("bad", [None, 5], ids=["none", "int"])
def test_load_refuses_a_model_that_is_not_a_name(bad):
    one_line(lambda: mlx_ifp.load(bad), "model")


def test_load_refuses_an_adapter_path_that_is_not_a_path(loaded):
    one_line(lambda: mlx_ifp.load(loaded[2], adapter_path=5), "adapter_path")


@pytest.mark.parametrize("top_p", [5e-324, 1e-40])
def test_a_top_p_below_float32_range_samples_the_most_likely_token(tiny, top_p):
    """Nucleus sampling with p -> 0 keeps only the top token; mlx-lm reads p in float32, where
    these are 0, and sampled from the whole vocabulary instead."""
    model, tok = tiny
    greedy = mlx_ifp.generate(model, tok, P, max_tokens=12, keep=0.5, chat_template=False)
    for seed in range(3):
        mx.random.seed(seed)
        got = mlx_ifp.generate(
            model, tok, P, max_tokens=12, keep=0.5, chat_template=False, temp=1.0, top_p=top_p
        )
        assert got == greedy
