"""Review (s41): the Python API as an app uses it: seeds, threads, text.

- ``mx.random.seed(s)`` then ``generate(..., temp=1.0)``: the first call's reply differed from
  every later call's with the same seed. Building the call's pruner (the shipped LoRA loaded on a
  copy, its attention part fused, a predictor loaded) drew the layers' random starts, which the
  loaded weights then replace, from MLX's global random state: the sampler then drew from
  another state. ``load(..., adapter_path=)`` moved the caller's state the same way.
- Two threads selecting masks with a predictor that reads the source with its LoRA off
  (``lora_disabled``: the shipped predictor, ``repick=0`` or a task): ``lora_disabled`` set the
  scale of the shared LoRA layers to 0 and put back what it had saved. Another thread's slice
  cut meanwhile lacked the FFN LoRA (and was cached), and two overlapping blocks left every
  scale at 0 for good: every later slim model of the app was cut without its LoRA.
- The same with a predictor on the source's first blocks (``mlx_ifp finetune``'s default head):
  ``hidden_states`` cut the shared model's block list for its pass and put it back, so another
  thread could run the cut model meanwhile.
- ``generate --task @FILE`` with a UTF-8 BOM (Windows editors): a ``.jsonl`` was refused as "not
  JSON" at line 1, and a text file's first example prompt began with U+FEFF.
- A lone surrogate in an API prompt or task (text decoded with ``surrogateescape``, JSON's
  ``"\\udcff"``): the tokenizer's ``TypeError: TextEncodeInput must be Union[...]``.

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import contextlib
import threading

import mlx_ifp  # first: the optimized BLAS before mlx.core
import mlx_ifp.sources.predictor.model as predictor_model
from mlx_ifp.cli.generate import task_examples
from mlx_ifp.core import layers, lora_disabled
from mlx_ifp.sources.predictor import PredictorConfig, new_predictor, save_predictor

import mlx.core as mx
import pytest
from tiny import finetune_folder, save_folder, tiny_model

PROMPT = "t5 t17 t3 t99 t42"


def lora_world(tmp_path, griffin: bool = False):
    """A tiny llama folder and a finetune folder of LoRA (every linear layer of the last two
    blocks, FFN included) plus a predictor at keep 40 (``griffin``: one that reads the source's
    GRIFFIN statistics with the LoRA off, as the shipped one does)."""
    model = tiny_model("llama")
    folder = save_folder(model, tmp_path / "model")
    ft = finetune_folder(model, tmp_path / "ft", k=40, train="lora")
    if griffin:
        save_predictor(new_predictor(model, PredictorConfig(head="griffin", factor_rank=4)), ft)
    return str(folder), str(ft)


def lora_scales(model) -> list:
    return [m.scale for _, m in model.named_modules() if "lora_a" in m and "lora_b" in m]


def test_loading_adapters_and_building_a_pruner_leave_the_random_state(tmp_path):
    """Loading a LoRA finetune folder's adapters, building a ``Pruner`` (its attention LoRA
    fused) and its predictor's first selection each drew random numbers for weights they then
    replaced (mlx-lm's own model construction draws too: the same with or without adapters)."""
    folder, ft = lora_world(tmp_path)
    states = []
    for adapter in (None, ft):
        mx.random.seed(5)
        net, tok = mlx_ifp.load(folder, adapter_path=adapter)
        states.append(mx.random.state[0].tolist())
    assert states[0] == states[1], "loading the adapters moved the random state"
    mx.random.seed(5)
    pruner = mlx_ifp.Pruner(net, tok, keep=40)
    pruner.slim_for(PROMPT)
    assert mx.random.state[0].tolist() == [0, 5], "the pruner moved the random state"


def test_a_seed_gives_the_first_call_the_reply_of_later_calls(tmp_path):
    """``mx.random.seed(0)`` before each of two sampled ``generate`` calls: the first built the
    shared pruner, drawing from the random state, so its reply differed from the second's."""
    folder, ft = lora_world(tmp_path)
    net, tok = mlx_ifp.load(folder, adapter_path=ft)
    replies = []
    for _ in range(3):
        mx.random.seed(0)
        out = mlx_ifp.stream_generate(net, tok, PROMPT, 24, temp=1.0, keep=40)
        replies.append([r.token for r in out])
    assert replies[0] == replies[1] == replies[2]


@pytest.mark.real
def test_a_seed_gives_the_first_call_the_reply_of_later_calls_on_the_embedded_model(smollm2_dir):
    """The same on the embedded model: its default (the shipped predictor and LoRA) put the
    first reply after ``mx.random.seed(0)`` apart from the later ones."""
    model, tok = mlx_ifp.load("smollm2-135m-instruct")
    replies = []
    for _ in range(2):
        mx.random.seed(0)
        replies.append(mlx_ifp.generate(model, tok, "Tell me a story.", max_tokens=12, temp=1.0))
    assert replies[0] == replies[1]


def test_lora_disabled_in_one_thread_leaves_the_layers_on_in_another(tmp_path):
    """One thread inside ``lora_disabled(net)`` set the shared layers' scale to 0: another
    thread's forward pass (or slice) meanwhile ran without the LoRA; and a block of this thread
    left after the other thread's restored the 0 it had saved, for good."""
    folder, ft = lora_world(tmp_path)
    net, _ = mlx_ifp.load(folder, adapter_path=ft)
    bare, _ = mlx_ifp.load(folder)
    scales = lora_scales(net)
    x = mx.array([[5, 17, 3, 99, 42]])
    ref, ref_off = net(x), bare(x)
    assert scales and not mx.allclose(ref, ref_off, atol=1e-4)  # the LoRA matters
    inside, leave = threading.Event(), threading.Event()

    def other():
        with lora_disabled(net):
            inside.set()
            leave.wait(30)

    thread = threading.Thread(target=other)
    thread.start()
    try:
        assert inside.wait(30)
        seen, out = lora_scales(net), net(x)
        with lora_disabled(net):  # entered after the other thread's block, left after it
            leave.set()
            thread.join(30)
            off = net(x)
    finally:
        leave.set()
        thread.join(30)
    assert seen == scales, "another thread's lora_disabled switched this thread's LoRA off"
    assert mx.allclose(out, ref, atol=1e-5)
    assert mx.allclose(off, ref_off, atol=1e-5)  # still the source model inside the block
    assert lora_scales(net) == scales, "the LoRA layers were left at scale 0"
    assert mx.allclose(net(x), ref, atol=1e-5)


def test_two_threads_selecting_with_a_lora_predictor_get_the_slim_models_of_one(
    tmp_path, monkeypatch
):
    """A thread slicing while another thread's predictor read the source (LoRA off) cut its
    slim model without the FFN LoRA, and cached it: here thread A is held inside its selection
    while this thread selects and slices another task."""
    folder, ft = lora_world(tmp_path, griffin=True)
    net, tok = mlx_ifp.load(folder, adapter_path=ft)
    alone, _ = mlx_ifp.load(folder, adapter_path=ft)  # its own LoRA layers: one thread
    reference = mlx_ifp.Pruner(alone, tok, keep=40)
    pruner = mlx_ifp.Pruner(net, tok, keep=40)
    inside, leave = threading.Event(), threading.Event()
    real = predictor_model.lora_disabled

    @contextlib.contextmanager
    def held(model):  # thread A waits inside the predictor's pass, its LoRA off
        with real(model):  # (the one pass's and, since s52, the chunked read's: text_scores)
            if threading.current_thread().name == "A" and not inside.is_set():
                inside.set()
                leave.wait(30)
            yield

    monkeypatch.setattr(predictor_model, "lora_disabled", held)
    got = {}
    thread = threading.Thread(target=lambda: got.update(a=pruner.slim_for("t7 t8 t9")), name="A")
    thread.start()
    try:
        assert inside.wait(30)
        got["b"] = pruner.slim_for(PROMPT)
    finally:
        leave.set()
        thread.join(30)
    x = mx.array([[5, 17, 3, 99, 42]])
    for key, text in (("b", PROMPT), ("a", "t7 t8 t9")):
        slim, info = got[key]
        want, want_info = reference.slim_for(text)
        assert info.mask == want_info.mask
        assert mx.allclose(slim(x), want(x), atol=1e-4), f"task {text!r} cut without its LoRA"


def test_a_predictor_on_the_first_blocks_leaves_the_model_whole_for_other_threads(
    tmp_path, monkeypatch
):
    """A predictor that reads the source's first blocks (``layers`` below the model's: the
    default of ``mlx_ifp finetune``) cut the shared model's block list while it ran and put it
    back after: another thread meanwhile ran the cut model (here thread A is held inside the
    first block), and one that started its own cut then would put the cut list back for good."""
    model = tiny_model("llama")
    folder = save_folder(model, tmp_path / "model")
    ft = finetune_folder(model, tmp_path / "ft", k=40, train="frozen")  # reads 1 of 3 blocks
    net, tok = mlx_ifp.load(str(folder), adapter_path=str(ft))
    x = mx.array([[5, 17, 3, 99, 42]])
    ref = net(x)
    block = type(layers(net)[0])
    real = block.__call__
    inside, leave = threading.Event(), threading.Event()

    def held(self, *args, **kwargs):
        if threading.current_thread().name == "A" and not inside.is_set():
            inside.set()
            leave.wait(30)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(block, "__call__", held)
    pruner = mlx_ifp.Pruner(net, tok, keep=40)
    thread = threading.Thread(target=lambda: pruner.slim_for(PROMPT), name="A")
    thread.start()
    try:
        assert inside.wait(30)
        n, out = len(layers(net)), net(x)
    finally:
        leave.set()
        thread.join(30)
    assert n == 3, f"another thread's predictor left the model {n} blocks deep meanwhile"
    assert mx.allclose(out, ref, atol=1e-5)


def test_task_example_files_with_a_utf8_bom_are_read(tmp_path):
    """A BOM (Windows editors write one) made a ``.jsonl`` "not JSON" at line 1 and stayed at
    the start of a text file's first example prompt."""
    jsonl, txt = tmp_path / "task.jsonl", tmp_path / "task.txt"
    jsonl.write_bytes(b'\xef\xbb\xbf{"prompt": "Reverse a list."}\n{"prompt": "Sort a dict."}\n')
    txt.write_bytes("\ufeffReverse a list.\nSort a dict.\n".encode())
    assert task_examples(jsonl) == ["Reverse a list.", "Sort a dict."]
    assert task_examples(txt) == ["Reverse a list.", "Sort a dict."]


@pytest.mark.parametrize("where", ["prompt", "messages", "task"])
def test_a_lone_surrogate_in_api_text_is_one_line(tmp_path, where):
    """A lone surrogate got through to the tokenizer: ``TypeError: TextEncodeInput must be
    Union[TextInputSequence, Tuple[InputSequence, InputSequence]]``."""
    model = tiny_model("llama")
    net, tok = mlx_ifp.load(str(save_folder(model, tmp_path / "model")))
    bad = "t5 t6 \udcff"
    args = {
        "prompt": ((bad,), {}),
        "messages": (([{"role": "user", "content": bad}],), {}),
        "task": ((PROMPT,), {"task": bad}),
    }[where]
    with pytest.raises(mlx_ifp.UsageError, match="lone surrogate, U\\+DCFF"):
        mlx_ifp.generate(net, tok, *args[0], max_tokens=2, mask_source="griffin", **args[1])
