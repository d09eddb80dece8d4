"""`mlx_ifp bench`, thirty-fourth session's review: figures that counted another variant's
model, a variant that did not measure what its label says, and one path fed another prompt."""

import subprocess
import sys

import mlx_ifp  # noqa: F401  (first: the optimized BLAS)
from mlx_ifp.bench import bench
from mlx_ifp.bench import models as bench_models
from mlx_ifp.bench import run as bench_run
from mlx_ifp.core import UsageError

import mlx.core as mx
import mlx_lm
import pytest
from mlx.utils import tree_flatten
from tiny import save_folder, tiny_model

QUIET = dict(prompt_tokens=8, gen_tokens=2, trials=1, log=lambda s: None)


def test_the_4bit_source_of_one_keep_is_not_resident_in_the_next_keeps_figures():
    """(g) built the 4-bit source once and kept it for the whole run: every keep after the
    first counted it in its resident memory (resident / allowed 1.14 on the tiny preset at
    keep 0.25, against 1.00 at keep 0.5) and in the peaks of (b)-(f)."""
    # in a fresh process: MLX's active memory is the process's, and arrays other tests leave to
    # the garbage collector can be freed in the middle of the run
    code = (
        "from mlx_ifp.bench import bench\n"
        "out = bench(preset='tiny', keeps=(0.5, 0.25), variants='cg', log=lambda s: None)\n"
        "print([round(r['ratios']['resident_vs_allowed'], 2) for r in out['runs']])\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == "[1.0, 1.0]", run.stdout


def test_g_on_a_float_model_is_really_4bit(tmp_path):
    """`bench --model FLOAT_FOLDER`: "(g) slim from 4-bit" and the "4-bit source" loaded the
    folder with dequantize=False, which leaves a float model float: both rows were the float
    model again, labelled 4-bit."""
    folder = save_folder(tiny_model("llama"), tmp_path / "model")
    seen = []
    real = bench_run.run_decode

    def spy(model, *a, **k):
        seen.append({type(m).__name__ for _, m in model.named_modules()})
        return real(model, *a, **k)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bench_run, "run_decode", spy)
        out = bench(model=str(folder), keeps=(0.5,), variants="g", **QUIET)
    run = out["runs"][0]
    assert run["variants"]["g_q4_slim"]["bytes"] < 0.5 * run["slim"]["bytes"]
    assert seen and all("QuantizedLinear" in kinds for kinds in seen)  # g's slim, 4-bit source


_plain_tokenizer = bench_models.synthetic_tokenizer


def _bos_tokenizer(vocab_size):
    """The synthetic tokenizer, adding a BOS token (t2) as Llama 3's does."""
    from tokenizers import processors

    tok = _plain_tokenizer(vocab_size)
    fast = tok._tokenizer
    fast._tokenizer.post_processor = processors.TemplateProcessing(
        single="t2 $A", special_tokens=[("t2", 2)]
    )
    fast.bos_token = "t2"
    return tok


def test_both_paths_of_e_decode_the_same_prompt(monkeypatch):
    """(e) via mlx_ifp decoded the prompt to text and re-encoded it: a tokenizer that adds a
    BOS token (or BPE merging differently across the cut) gave the mlx_ifp path another prompt
    than the mlx_lm path it is compared with (`mlx_ifp_vs_mlx_lm`)."""
    monkeypatch.setattr(bench_models, "synthetic_tokenizer", _bos_tokenizer)
    processed = []
    real = mlx_lm.stream_generate

    def spy(model, tok, prompt, max_tokens=256, **kw):
        cache = kw.get("prompt_cache")
        n = len(prompt) if isinstance(prompt, list) else prompt.size
        processed.append(n + (cache[0].offset if cache else 0))
        yield from real(model, tok, prompt, max_tokens=max_tokens, **kw)

    monkeypatch.setattr(mlx_lm, "stream_generate", spy)
    monkeypatch.setattr("mlx_ifp.inference.generation._mlx_stream", spy)
    bench(preset="tiny", keeps=(0.5,), variants="e", **QUIET)
    assert len(processed) == 12 and set(processed) == {8}, processed  # 2 sides x 3 x (warm-up + 1)


def test_interleaved_trials_run_in_the_documented_order(monkeypatch):
    """docs/performance.md: alternating trials (a, c, f, a, c, f, ...); the run went c, a, f."""
    orders = []
    real = bench_run.interleaved

    def spy(models, *a, **k):
        orders.append(list(models))
        return real(models, *a, **k)

    monkeypatch.setattr(bench_run, "interleaved", spy)
    bench(preset="tiny", keeps=(0.5,), variants="acf", **QUIET)
    assert orders == [["a", "c", "f"]]


@pytest.mark.parametrize("variants", ["", "xyz", "C"])
def test_the_python_api_refuses_unknown_variants(variants, monkeypatch):
    """`bench(variants="C")` (the CLI checks its letters, the API did not) built the model,
    sliced it and returned a result with no variant in it, as if all had been asked for."""
    monkeypatch.setattr(bench_models, "random_llama", lambda *a, **k: 1 / 0)
    with pytest.raises(UsageError, match="variants"):
        bench(preset="tiny", variants=variants, **QUIET)


def test_the_preset_tokenizer_reads_back_every_word():
    """The presets' word-level tokenizer split its end token "t1" out of every word that starts
    with it: "t100" was read as [1, 0] (end of sequence, then unknown), for 110 of the tiny
    preset's 256 words, so any text in these words was fed to the model wrong."""
    tok = bench_models.synthetic_tokenizer(256)
    ids = list(range(256))
    assert tok.encode(tok.decode(ids)) == ids
    assert tok.eos_token_id == 1 and tok.eos_token_ids == {1}


def test_an_untied_embedding_is_not_counted_when_the_config_does_not_say():
    """Gemma 3's ModelArgs has no tie_word_embeddings (the model keeps an lm_head unless its
    weights lack one): the "ideal" bytes ratio read the missing flag as tied and counted the
    whole embedding table as read per token, next to the lm_head that is."""
    from mlx_ifp.core import count

    model = tiny_model("gemma3_text")
    assert not hasattr(model.args, "tie_word_embeddings") and "lm_head" in model
    table = model.model.embed_tokens.weight.nbytes
    assert bench_run.decode_bytes(model) == count(model)["bytes"] - table


def test_a_packed_source_is_benchmarked_with_its_float_dtype(tmp_path, monkeypatch):
    """Off the CPU `load` keeps a quantized model packed (the embedded model's default on a
    GPU): bench took the FFN's packed uint32 weights for the model's dtype, recorded "uint32"
    and cast (f)'s random model to uint32, a traceback in its first norm."""
    import sys

    folder = save_folder(tiny_model("llama", quantize=True), tmp_path / "q", quantized=True)
    monkeypatch.setattr(sys.modules["mlx_ifp.models.resolve"], "on_cpu", lambda: False)
    seen = []
    real = bench_run.run_decode

    def spy(model, *a, **k):
        seen.append({type(m).__name__ for _, m in model.named_modules()})
        return real(model, *a, **k)

    monkeypatch.setattr(bench_run, "run_decode", spy)
    out = bench(model=str(folder), keeps=(0.5,), variants="bf", **QUIET)
    assert out["dtype"] == str(mx.float32) and "f_same_shape" in out["runs"][0]["variants"]
    assert "QuantizedLinear" in seen[-1]  # (f) packed as the slim model it stands beside


def _shapes(model):
    return {k: v.shape for k, v in tree_flatten(model.parameters())}


@pytest.mark.parametrize("arch", ["mistral", "gemma3_text-tied"])
def test_the_same_shape_dense_model_has_the_slim_models_shape(arch):
    """(f) for a Mistral imported `mlx_lm.models.mistral`, which does not exist (mlx-lm runs
    it as a Llama): a traceback; for a Gemma 3 whose head is tied on load (its sanitize drops
    the lm_head), (f) carried a vocab x hidden lm_head the slim model does not have."""
    from mlx_ifp import Pruner

    from tiny import endless_tokenizer

    model = tiny_model(arch.split("-")[0])
    if arch.endswith("tied"):
        model.sanitize({})  # loaded without lm_head.weight
        assert "lm_head" not in model
    slim, _ = Pruner(model, endless_tokenizer(), "griffin", 48).slim_for([5, 6, 7])
    same = bench_models.same_shape_dense(model, 48, mx.float32)
    assert _shapes(same) == _shapes(slim)
    mx.eval(same(mx.array([[5, 6, 7]])))
