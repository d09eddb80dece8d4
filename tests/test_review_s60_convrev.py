"""``mlx_ifp convert`` / ``info`` as a user of mlx-lm and llama.cpp runs them (sixtieth session).

- A model folder whose path holds a glob character did not load: ``mlx_lm.load`` finds the
  weights with ``glob(PATH/model*.safetensors)``, so ``out [v1]`` (an export's own name) was
  "No safetensors found", and ``m[1]`` beside a folder ``m1`` loaded ``m1``'s weights, silently.
  A GGUF file ``[x].gguf`` failed too: its conversion's cache folder is named after it.
  ``mlx_ifp.load`` now hands mlx-lm such a folder through a link of a plain name; ``convert``
  says that mlx-lm itself cannot load what it wrote there.
- The model card of an export written whole (no channel pruned: no mask, ``--keep 1.0``, an
  adapter fused) said ``mlx_ifp generate --model OUT`` "runs it as written", but generate pruned
  it to half its FFN channels (GRIFFIN, as any model); its command now says ``--keep 1.0``.
- The card of an export named ``-v2`` said ``mlx_lm generate --model -v2``: argparse reads
  ``-v2`` as an option ("expected one argument"); it says ``./-v2`` now.
"""

import mlx_ifp
from mlx_ifp.cli import app
from mlx_ifp.convert import export_gguf
from mlx_ifp.core import origin

import mlx.core as mx
import mlx.nn as nn
import pytest
from tiny import save_folder, tiny_model
from typer.testing import CliRunner


def weights(model) -> dict:
    return dict(nn.utils.tree_flatten(model.parameters()))


def same(a, b) -> bool:
    wa, wb = weights(a), weights(b)
    return wa.keys() == wb.keys() and all(mx.array_equal(wa[k], wb[k]).item() for k in wa)


@pytest.mark.parametrize("name", ["out [v1]", "m[1]", "m?", "a*"])
def test_a_folder_whose_path_holds_a_glob_character_loads_its_own_weights(tmp_path, name):
    own = tiny_model("llama", seed=1)
    save_folder(own, tmp_path / name)
    save_folder(tiny_model("llama", seed=2), tmp_path / "m1")  # what the glob also matched
    save_folder(tiny_model("llama", seed=3), tmp_path / "ab")
    net, _ = mlx_ifp.load(str(tmp_path / name))  # was: no safetensors found / m1's weights
    assert same(net, own)
    assert origin(net)["path"] == str(tmp_path / name)  # the folder, not the link


def test_a_gguf_file_named_with_brackets_loads(tmp_path, monkeypatch):
    pytest.importorskip("gguf")
    from test_gguf_export import TOKENS, tiny

    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    model, tok = tiny("llama")
    path = export_gguf(model, tok, tmp_path / "[x].gguf", "f16")
    back, _ = mlx_ifp.load(str(path))  # was: no safetensors found in the cache's "[x]-f32-..."
    assert mx.allclose(back(TOKENS), model(TOKENS), atol=5e-3).item()


def test_convert_says_mlx_lm_cannot_load_a_bracketed_folder(tmp_path):
    folder = save_folder(tiny_model("llama"), tmp_path / "model")
    run = CliRunner().invoke(app, ["convert", "--model", str(folder), "-o", str(tmp_path / "o[1]")])
    assert run.exit_code == 0, run.output
    assert "mlx_lm.load" in run.output and "mlx_ifp" in run.output
    plain = CliRunner().invoke(app, ["convert", "--model", str(folder), "-o", str(tmp_path / "o")])
    assert plain.exit_code == 0 and "mlx_lm.load" not in plain.output


@pytest.mark.parametrize("flags", [[], ["--keep", "1.0"], ["--keep", "0.5"]])
def test_the_card_runs_a_whole_export_whole(tmp_path, flags):
    """The card's mlx_ifp command runs the export as written: a pruned one as it is, a whole one
    with --keep 1.0 (without it generate prunes it, as any model)."""
    folder = save_folder(tiny_model("llama"), tmp_path / "model")
    out = tmp_path / "out"
    run = CliRunner().invoke(app, ["convert", "--model", str(folder), *flags, "-o", str(out)])
    assert run.exit_code == 0, run.output
    text = (out / "README.md").read_text()
    whole = flags != ["--keep", "0.5"]
    assert ("mlx_ifp generate --model out --keep 1.0" in text) == whole, text
    assert ("runs it as written" in text) != whole, text
    assert ("no FFN channel pruned" in text) == whole, text


def test_the_card_of_a_folder_named_like_an_option_runs(tmp_path, monkeypatch):
    folder = save_folder(tiny_model("llama"), tmp_path / "model")
    monkeypatch.chdir(tmp_path)
    run = CliRunner().invoke(app, ["convert", "--model", str(folder), "-o", "-v2"])
    assert run.exit_code == 0, run.output
    text = (tmp_path / "-v2" / "README.md").read_text()
    assert "mlx_lm generate --model ./-v2 " in text and "--model -v2" not in text, text
