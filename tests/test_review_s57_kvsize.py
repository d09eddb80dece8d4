"""Review (fifty-seventh session, a lead of the chat review): ``generate`` / ``chat
--max-kv-size N`` on a model whose mlx-lm class makes its own KV cache (llama, the embedded
SmolLM2's kind; gemma3) ran unbounded without a word, though ``--help`` says the flag bounds the
cache: mlx-lm 0.32's ``make_prompt_cache`` defers to the model's ``make_cache`` and drops the
bound (``mlx_lm generate`` too). Now one warning line says so; a model without ``make_cache``
(qwen3) rotates as before and says nothing."""

from mlx_ifp.cli import app

from tiny import save_folder, tiny_model
from typer.testing import CliRunner


def run(tmp_path, arch, *flags):
    folder = save_folder(tiny_model(arch), tmp_path / arch)
    args = ["generate", "--model", str(folder), "-p", "a b c", "-m", "4", "--mask-source", "full"]
    return CliRunner().invoke(app, args + list(flags))


def test_max_kv_size_on_a_model_that_makes_its_own_cache_is_said_to_bound_nothing(tmp_path):
    out = run(tmp_path, "llama", "--max-kv-size", "8")
    assert out.exit_code == 0, out.output
    assert "--max-kv-size 8 bounds nothing here" in out.output and "llama" in out.output


def test_max_kv_size_on_a_model_with_mlx_lms_default_cache_says_nothing(tmp_path):
    for flags in (("--max-kv-size", "8"), ()):
        out = run(tmp_path, "qwen3", *flags)
        assert out.exit_code == 0 and "bounds nothing" not in out.output, out.output
    out = run(tmp_path, "llama")
    assert out.exit_code == 0 and "bounds nothing" not in out.output, out.output
