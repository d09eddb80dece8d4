"""The packed-matmul self-check, its one warning, and the GPU kernel-compilation notice."""

import warnings

import mlx_ifp
from mlx_ifp.models import device, gguf_decode

import mlx.core as mx
import pytest
from tiny import save_folder, tiny_model


@pytest.fixture
def fresh(monkeypatch):
    """Per-process state cleared, so each test sees a first run."""
    monkeypatch.setattr(device, "_warned", set())
    monkeypatch.setattr(device, "_noticed", set())
    check = device._check
    check.cache_clear()
    yield
    check.cache_clear()


def _tiny(tmp_path, quantize):
    folder = save_folder(tiny_model("llama", quantize=quantize), tmp_path / "m", quantize)
    return mlx_ifp.load(str(folder), dequantize=False)


def test_packed_matmuls_pass_the_self_check_here(fresh):
    result = device.packed_matmul_check()
    # float32 on both sides: only summation order differs (~1e-7 relative)
    assert result["ok"] and result["max_error"] < 1e-5
    assert result["cases"] == ["4-bit/g32", "4-bit/g64", "5-bit/g32", "8-bit/g32", "8-bit/g64"]
    # every packed form the GGUF importer makes (Q4_*/Q5_*/Q8_0 exact, Q6_K as 8-bit) is checked
    assert {(4, 32), (5, 32), (8, 32)} == gguf_decode.PACKED
    assert gguf_decode.PACKED <= set(device.FORMATS)
    assert {f"{b}-bit/g{g}" for b, g in gguf_decode.PACKED} <= set(result["cases"])


@pytest.mark.parametrize("broken", sorted(gguf_decode.PACKED), ids=lambda f: f"{f[0]}-bit/g{f[1]}")
def test_a_kernel_broken_for_one_importer_format_fails_the_check(fresh, monkeypatch, broken):
    real = mx.quantized_matmul

    def matmul(x, w, scales, biases, transpose, group_size, bits):
        y = real(x, w, scales, biases, transpose, group_size, bits)
        return -y if (bits, group_size) == broken else y

    monkeypatch.setattr(device.mx, "quantized_matmul", matmul)
    result = device.packed_matmul_check()
    assert not result["ok"] and result["max_error"] > 1


def test_a_failing_self_check_warns_once(fresh, monkeypatch, tmp_path):
    bad = {"ok": False, "max_error": 0.7, "device": "Device(gpu, 0)", "cases": []}
    monkeypatch.setattr(device, "_check", lambda _: bad)
    model, tok = _tiny(tmp_path, quantize=True)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for _ in range(2):
            mlx_ifp.generate(model, tok, "t5 t6 t7", max_tokens=2, keep=1.0)
    msgs = [str(w.message) for w in seen if issubclass(w.category, RuntimeWarning)]
    assert len(msgs) == 1 and "max relative error 0.7" in msgs[0]


def test_a_float_model_skips_the_self_check(fresh, monkeypatch, tmp_path):
    monkeypatch.setattr(device, "_check", lambda _: pytest.fail("checked a float model"))
    model, tok = _tiny(tmp_path, quantize=False)
    mlx_ifp.generate(model, tok, "t5 t6 t7", max_tokens=2, keep=1.0)


@pytest.mark.parametrize("quantize", [True, False], ids=["packed", "float"])
def test_first_packed_forward_on_a_gpu_is_announced_once(fresh, monkeypatch, tmp_path, capsys,
                                                         quantize):  # fmt: skip
    monkeypatch.setattr(device, "_on_cuda", lambda: True)
    monkeypatch.setattr(device, "_kernel_cache_is_empty", lambda: True)
    model, tok = _tiny(tmp_path, quantize)
    for _ in range(2):
        mlx_ifp.generate(model, tok, "t5 t6 t7", max_tokens=2, keep=1.0)
    err = capsys.readouterr().err
    assert err.count(device.COMPILING) == (1 if quantize else 0)


def test_no_notice_on_this_cpu_or_with_a_warm_kernel_cache(fresh, monkeypatch, tmp_path):
    model, _ = _tiny(tmp_path, quantize=True)
    assert not device.claim_compile_notice(model)  # CPU here
    monkeypatch.setattr(device, "_on_cuda", lambda: True)
    monkeypatch.setattr(device, "_kernel_cache_is_empty", lambda: False)
    assert not device.claim_compile_notice(model)
