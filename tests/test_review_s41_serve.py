"""``serve --task NAME=MASKFILE`` with a mask another source picked (forty-first session).

The fortieth session made such a task run on the right weights by handing it to the Python
API's shared pruners: up to four of them, each with its own slim models (and, for another
predictor's mask, a LoRA'd copy of the model), none of them counted in ``--cache-gb``. Such a
task now gets a pruner of its picker (``Pruner.for_mask``) inside the registry, sized from the
same budget.
"""

import mlx_ifp
from mlx_ifp.inference import generation
from mlx_ifp.serve.registry import Registry
from mlx_ifp.serve.schemas import GenRequest

import pytest
from test_serve import KEEP, word_tokenizer
from tiny import tiny_model


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A tiny llama, a random-source mask saved to a file, and no shared API pruners yet."""
    model, tok = tiny_model("llama"), word_tokenizer()
    _, info = mlx_ifp.select(model, tok, "t9 t10 t11", mask_source="random", keep=KEEP)
    assert info.mask.source != "griffin"
    info.mask.save(str(tmp_path / "rand"))
    monkeypatch.setattr(generation, "_PRUNERS", type(generation._PRUNERS)())
    return model, tok, info.mask, {"rand": {"mask": str(tmp_path / "rand.safetensors")}}


def served(reg, name: str) -> tuple[str, dict]:
    pieces = list(reg.generate(GenRequest(model=name, prompt="t5 t6 t7", chat=False, max_tokens=4)))
    return "".join(p.text for p in pieces), pieces[-1].info


def test_a_foreign_mask_task_is_served_by_a_pruner_of_the_registry(world):
    model, tok, mask, tasks = world
    reg = Registry(model, tok, "tiny", keep=KEEP, mask_source="griffin", tasks=tasks)
    first, info = served(reg, "tiny:rand")
    again, info2 = served(reg, "tiny:rand")
    # was: its slim model held by a shared pruner of the Python API, outside --cache-gb
    assert not [p for p in generation._PRUNERS.values() if p.source_model is model]
    assert first == again == mlx_ifp.generate(model, tok, "t5 t6 t7", max_tokens=4, mask=mask)
    assert (info["cache_hit"], info2["cache_hit"]) == (False, True)
    assert info["mask_source"] == "file" and info["k"] == mask.k


def test_a_foreign_mask_tasks_slim_models_count_in_the_cache_budget(world):
    model, tok, mask, tasks = world
    probe = Registry(model, tok, "tiny", keep=KEEP, mask_source="griffin", cache_bytes=0)
    two = 2 * probe.slot_bytes  # two slim models' bytes: no prompt slot, two for tasks
    tasks = {"code": {"task": "t20 t21 t22"}, **tasks}
    reg = Registry(model, tok, "tiny", keep=KEEP, mask_source="griffin", tasks=tasks,
                   cache_bytes=two)  # fmt: skip
    own = reg.tasks["rand"].pruner
    assert own is not None and own is not reg.task_pruner
    sizes = reg.prompt_pruner.cache.maxsize + reg.task_pruner.cache.maxsize + own.cache.maxsize
    assert sizes == 2 and own.cache.maxsize == 1
    served(reg, "tiny:rand"), served(reg, "tiny:code")
    assert len(own.cache) + len(reg.task_pruner.cache) + len(reg.prompt_pruner.cache) <= 2
    assert not [p for p in generation._PRUNERS.values() if p.source_model is model]


def test_a_mask_of_the_servers_own_source_stays_with_the_task_pruner(world, tmp_path):
    model, tok, _, _ = world
    _, info = mlx_ifp.select(model, tok, "t9 t10 t11", mask_source="griffin", keep=KEEP)
    info.mask.save(str(tmp_path / "gr"))
    tasks = {"gr": {"mask": str(tmp_path / "gr.safetensors")}}
    reg = Registry(model, tok, "tiny", keep=KEEP, mask_source="griffin", tasks=tasks)
    assert reg.tasks["gr"].pruner is None
    text, _ = served(reg, "tiny:gr")
    assert text == mlx_ifp.generate(model, tok, "t5 t6 t7", max_tokens=4, mask=info.mask)
    assert len(reg.task_pruner.cache) == 1
