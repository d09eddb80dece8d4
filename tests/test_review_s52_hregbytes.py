"""Review (fifty-second session, hregbytes): the server's memory count of a LoRA'd model, and the
LoRA'd copy / fused base that two threads build at once.

Since the fifty-first session one LoRA'd copy and one fused attention base are made per model and
shared by its live pruners (``kept_for``), so every slim model of ``serve``'s registry points at
the same fused q/k/v/o. The registry still counted them as each slot's own: every slot was
charged the shared base again (~101 MiB a slot on the embedded SmolLM2), and ``--cache-gb``
kept fewer slim models than it could. And two threads making the first pruner of a model at
once each built (and kept) a LoRA'd copy / fused base of their own."""

import threading

import mlx_ifp
from mlx_ifp.inference import pruner as pruner_module
from mlx_ifp.serve.registry import Registry

import mlx.core as mx
import pytest
from mlx.utils import tree_flatten
from tiny import finetune_folder, save_folder, tiny_model


@pytest.fixture(scope="module")
def lora_folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("hregbytes")
    folder = save_folder(tiny_model("llama"), root / "model")
    bare, _ = mlx_ifp.load(str(folder))
    return str(folder), str(finetune_folder(bare, root / "run", 48, train="lora"))


@pytest.fixture
def lora_model(lora_folders):
    """A tiny model loaded with a LoRA of its own (attention and FFN): a fused base to share."""
    folder, adapter = lora_folders
    return mlx_ifp.load(folder, adapter_path=adapter)


def arrays(*models) -> dict:
    return {id(a): a for m in models for _, a in tree_flatten(m.parameters())}


def real_costs(model, registry) -> tuple[int, int]:
    """What two slots really add, from two slim models of the registry: the bytes they share
    with each other but not with the model (the fused base, once), and the second one's own."""
    one, _ = registry.task_pruner.slim_for("t1 t2 t3")
    two, _ = registry.task_pruner.slim_for("t7 t8 t9")  # another text: another slot
    assert len(registry.task_pruner.cache) == 2
    source, first = arrays(model), arrays(one)
    shared = sum(a.nbytes for i, a in arrays(two).items() if i in first and i not in source)
    own = sum(a.nbytes for i, a in arrays(two).items() if i not in first and i not in source)
    return shared, own


def test_a_second_slot_is_counted_without_the_shared_fused_base(lora_model):
    model, tok = lora_model
    registry = Registry(model, tok, "tiny", keep=0.5, mask_source="griffin", cache_bytes=1e6)
    shared, own = real_costs(model, registry)
    assert shared > 0 and own > 0  # the premise: a fused attention shared by both slots
    assert registry.slot_bytes == own  # was own + shared: the shared base again in every slot


def test_the_budget_keeps_as_many_slots_as_fit_with_the_base_counted_once(lora_model):
    model, tok = lora_model
    probe = Registry(model, tok, "tiny", keep=0.5, mask_source="griffin", cache_bytes=1e6)
    shared, own = real_costs(model, probe)
    del probe
    budget = shared + 8 * own  # the base once and eight slim models' own arrays
    registry = Registry(model, tok, "tiny", keep=0.5, mask_source="griffin", cache_bytes=budget)
    assert registry.prompt_slots + registry.task_slots == 8  # was 4: the base charged per slot


def test_the_registrys_count_matches_mlxs_active_memory_for_new_slots(lora_model):
    """MLX's own count of what two more slim models allocate (their masks' indices aside)."""
    model, tok = lora_model
    registry = Registry(model, tok, "tiny", keep=0.5, mask_source="griffin", cache_bytes=1e6)
    registry.task_pruner.slim_for("t1 t2 t3")
    before = mx.get_active_memory()
    held = [registry.task_pruner.slim_for(text)[0] for text in ("t4 t5", "t6 t7 t8")]
    grown = mx.get_active_memory() - before
    assert held and abs(grown - 2 * registry.slot_bytes) < 0.05 * grown  # was 2 * (+ the base)


def test_two_threads_making_the_first_pruner_of_a_model_share_one_fused_base(
    lora_model, monkeypatch
):
    """The first to build waits (at most 2 s) for a second build: there is none now."""
    model, tok = lora_model
    builds, second = [], threading.Event()
    real = pruner_module.lora_fused_base

    def slow_build(net, bits):
        builds.append(net)
        if len(builds) > 1:
            second.set()
        second.wait(2.0)
        return real(net, bits)

    monkeypatch.setattr(pruner_module, "lora_fused_base", slow_build)
    made = [None, None]

    def make(i):
        made[i] = mlx_ifp.Pruner(model, tok, source="griffin", keep=0.5)

    threads = [threading.Thread(target=make, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert made[0].slim_base is made[1].slim_base  # was two fused bases, one each
    assert len(builds) == 1


def test_a_build_for_one_model_does_not_hold_up_another_models():
    """Each model's own lock: building one model's value never waits for another model's."""
    a, b = tiny_model("llama", seed=1), tiny_model("llama", seed=2)
    done_b, seen = threading.Event(), []

    class Value:
        pass

    def build_a():
        seen.append(done_b.wait(10.0))  # b's is built meanwhile, in the other thread
        return Value()

    thread = threading.Thread(target=lambda: pruner_module.kept_for(a, ("test",), build_a))
    thread.start()
    value_b = pruner_module.kept_for(b, ("test",), Value)
    done_b.set()
    thread.join()
    assert seen == [True] and isinstance(value_b, Value)
