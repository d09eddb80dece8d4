"""Review (fifty-eighth session): ``serve --cache-gb`` counted a slot by its arrays' bytes, but a
GPU's MLX allocator hands out whole 16 KiB pages past one page (Metal and CUDA) and the next
power of two below one (CUDA): on CUDA the embedded SmolLM2's slot was 6-7% over the count
(docs/results/cuda_tests/s57/regbytes_cuda.json), the tiny test model's 2.3x
(tests/test_review_s52_hregbytes.py failed there). ``models.allocated_bytes`` counts what the
allocator takes; on the CPU the bytes asked. The rule is MLX 0.32's (mlx/backend/*/allocator.cpp);
the CUDA run of test_review_s52_hregbytes.py is its check against MLX's own active memory."""

import types

import mlx_ifp
from mlx_ifp.models import allocated_bytes
from mlx_ifp.serve.registry import Registry

import mlx.core as mx
import pytest
from tiny import save_folder, tiny_model

SIZES = (0, 1, 5, 8, 9, 3000, 16383, 16384, 16385, 27648, 884736, 884737)


def on(monkeypatch, gpu: bool, metal: bool = False) -> None:
    kind = mx.gpu if gpu else mx.cpu
    monkeypatch.setattr(mx, "default_device", lambda: types.SimpleNamespace(type=kind))
    monkeypatch.setattr(mx.metal, "is_available", lambda: metal)


def test_the_cpu_takes_the_bytes_asked(monkeypatch):
    on(monkeypatch, gpu=False)
    assert [allocated_bytes(n) for n in SIZES] == list(SIZES)


def test_cuda_rounds_to_pages_past_one_and_to_powers_of_two_below(monkeypatch):
    on(monkeypatch, gpu=True)
    got = [allocated_bytes(n) for n in SIZES]
    assert got == [0, 8, 8, 8, 16, 4096, 16384, 16384, 32768, 32768, 884736, 901120]


def test_metal_rounds_to_pages_past_one_only(monkeypatch):
    on(monkeypatch, gpu=True, metal=True)
    got = [allocated_bytes(n) for n in SIZES]
    assert got == [0, 1, 5, 8, 9, 3000, 16383, 16384, 32768, 32768, 884736, 901120]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = save_folder(tiny_model("llama"), tmp_path_factory.mktemp("alloc") / "model")
    return mlx_ifp.load(str(folder))


def test_a_registry_on_a_gpu_counts_its_slots_as_the_allocator_takes_them(tiny, monkeypatch):
    """The tiny model's slim arrays are a few KiB each: CUDA's allocator takes powers of two."""
    model, tok = tiny
    on_cpu = Registry(model, tok, "tiny", keep=0.5, mask_source="griffin", cache_bytes=1e6)
    on(monkeypatch, gpu=True)
    on_cuda = Registry(model, tok, "tiny", keep=0.5, mask_source="griffin", cache_bytes=1e6)
    assert on_cuda.slot_bytes > on_cpu.slot_bytes  # was equal: the bytes alone, everywhere
