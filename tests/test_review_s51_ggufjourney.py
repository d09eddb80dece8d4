"""A llama.cpp / mlx-lm user's way in and out (fifty-first session, a helper's review): a model
folder without its tokenizer files, and a Hugging Face repo id neither cached nor reachable."""

import mlx_ifp
from mlx_ifp.cli import app

import pytest
from tiny import save_folder, tiny_model
from typer.testing import CliRunner


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("kept", [(), ("tokenizer_config.json",)])
def test_a_folder_without_tokenizer_files_names_them(tmp_path, kept):
    """transformers' "Couldn't instantiate the backend tokenizer from one of: (1)... (3)...
    You need to have sentencepiece or tiktoken installed to convert a slow tokenizer to a" (cut
    at 300 characters) never said the folder lacks tokenizer.json."""
    folder = save_folder(tiny_model("llama"), tmp_path / "m")
    for f in folder.iterdir():
        if f.name.startswith(("tokenizer", "special_tokens", "chat_template", "vocab", "merges")):
            if f.name not in kept:
                f.unlink()
    with pytest.raises(
        mlx_ifp.UsageError, match="^could not load .*no tokenizer files.*tokenizer.json"
    ):
        mlx_ifp.load(str(folder))
    r = cli("generate", "--model", folder, "-p", "hi", "--max-tokens", "2")
    assert r.exit_code == 2 and "no tokenizer files" in r.output, r.output


def test_a_repo_id_neither_cached_nor_reachable_says_so(monkeypatch):
    """Without a network the Hub's error's first line alone was shown: "could not load
    org/model: Got: ConnectError: [Errno -2] Name or service not known"."""
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    def offline(*args, **kwargs):
        raise LocalEntryNotFoundError(
            "Got: ConnectError: [Errno -2] Name or service not known\nAn error happened while "
            "trying to locate the files on the Hub, and we cannot find the appropriate snapshot "
            "folder for the specified revision on the local disk. Please check your internet "
            "connection and try again."
        )

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)  # (as CI may set it)
    with pytest.raises(mlx_ifp.UsageError) as e:
        mlx_ifp.load("someorg/somemodel")
    msg = str(e.value)
    assert msg.startswith("could not load someorg/somemodel: ") and "\n" not in msg
    assert "not in the Hugging Face cache" in msg and "ConnectError" in msg


@pytest.mark.parametrize(
    ("flag", "ours"), [("--outfile", "--output/-o here"), ("--outtype", "--gguf-type here")]
)
@pytest.mark.parametrize("command", ["convert", "export"])
def test_llama_cpp_convert_flags_say_what_they_are_here(command, flag, ours, capsys):
    """llama.cpp's convert_hf_to_gguf.py --outfile / --outtype were refused as unknown options
    ("No such option: --outfile"), though mlx_lm convert's flags were named."""
    from mlx_ifp.cli import main

    with pytest.raises(SystemExit) as e:
        main([command, flag, "q8_0", "-o", "never"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"(convert_hf_to_gguf.py's {flag}: {ours})" in err, err


def test_a_folder_holding_a_gguf_file_names_it(tmp_path):
    """A llama.cpp user's model folder (a GGUF file in it, no config.json), given as --model,
    was refused as "not an mlx-lm model folder (no config.json)" without naming the file."""
    (tmp_path / "SmolLM2-GGUF").mkdir()
    (tmp_path / "SmolLM2-GGUF" / "smollm2.Q8_0.gguf").write_bytes(b"GGUF")
    with pytest.raises(mlx_ifp.UsageError, match="no config.json.*SmolLM2-GGUF/smollm2.Q8_0.gguf"):
        mlx_ifp.load(str(tmp_path / "SmolLM2-GGUF"))


def test_info_of_an_exported_slim_model_says_it_is_pruned(tmp_path):
    """`mlx_ifp info --model SLIM` (an export's folder) listed its layers and parameters and
    nothing of its pruning (generate's "Exported pruned to K of D FFN channels" line)."""
    folder = save_folder(tiny_model("llama"), tmp_path / "m")
    net, tok = mlx_ifp.load(str(folder))
    static = mlx_ifp.make_source("static")
    slim, picked = mlx_ifp.select(net, tok, "-", keep=0.5, mask_source=static)
    out = mlx_ifp.export(slim, tok, tmp_path / "slim", mask=picked.mask)
    r = cli("info", "--model", out)
    assert r.exit_code == 0, r.output
    d_ffn = net.layers[0].mlp.gate_proj.weight.shape[0]
    assert f"Exported pruned to {d_ffn // 2} of {d_ffn} FFN channels" in r.output, r.output
    assert picked.mask.digest() in r.output
    assert "Exported pruned" not in cli("info", "--model", folder).output
