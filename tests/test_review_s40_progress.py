"""Progress through the shared ``Progress`` helper where two slow steps showed nothing.

`export --format gguf` converted (and quantized) every tensor, then wrote the file, without a
line; `plot overlap -n N` selected a mask for each of N prompts per domain without one. Both
commands now show the helper's bar (a terminal) or plain lines (here: stderr is captured); the
Python functions stay quiet unless asked (``progress=True``).

Each test failed on the code it was written against, for the reason its docstring gives.
"""

import json
import re

import mlx_ifp
from mlx_ifp import evaluation

import pytest
from corpus import ByteTokenizer, fake_corpus
from test_review_s32_cli import cli
from test_review_s34_export import bpe_folder
from tiny import save_folder, tiny_model

gguf = pytest.importorskip("gguf")
DOMAINS = ("math", "code")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny llama folder with a byte-level BPE tokenizer, and the fixture corpus."""
    root = tmp_path_factory.mktemp("s40progress")
    with pytest.MonkeyPatch.context() as mp:
        corpus = fake_corpus(root, mp)
    return {"model": bpe_folder(root), "corpus": corpus, "llama": root / "llama"}


def progress_lines(stderr: str, label: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"{label}: ")]


def finished(lines: list[str], label: str, unit: str = "") -> int:
    """The count the final line reports, checked to be all of the steps."""
    unit = f"{unit} " if unit else ""
    last = re.match(rf"{label}: finished, {unit}(\d+)/(\d+), .* elapsed$", lines[-1])
    assert last and last[1] == last[2], lines
    return int(last[1])


def test_export_gguf_shows_progress_per_tensor_and_the_write(world, tmp_path):
    """`export -o m.gguf` printed only `Wrote m.gguf`, after all of the work."""
    out = tmp_path / "m.gguf"
    run = cli("export", "--model", world["model"], "-o", out)
    assert run.returncode == 0, run.stderr
    lines = progress_lines(run.stderr, "export")
    tensors = len(gguf.GGUFReader(str(out)).tensors)
    assert finished(lines, "export") == tensors + 1  # each tensor, then the file written
    assert len(lines) > 2  # lines along the way, not only the last one
    assert all(re.match(r"export: \d+/\d+, ", line) for line in lines[:-1])
    assert run.stdout.strip() == f"Wrote {out}"


def test_export_gguf_api_is_quiet_unless_asked(world, tmp_path, capfd):
    """``export_gguf(..., progress=True)`` was a TypeError; by default it prints nothing."""
    net, tok = mlx_ifp.load(str(world["model"]))
    mlx_ifp.export_gguf(net, tok, tmp_path / "quiet.gguf", "q8_0")
    assert capfd.readouterr().err == ""
    path = mlx_ifp.export_gguf(net, tok, tmp_path / "shown.gguf", "q8_0", progress=True)
    lines = progress_lines(capfd.readouterr().err, "export")
    assert finished(lines, "export") == len(gguf.GGUFReader(str(path)).tensors) + 1
    assert (tmp_path / "quiet.gguf").read_bytes() == path.read_bytes()  # the same file


def test_plot_overlap_shows_progress_per_prompt(world, tmp_path):
    """`plot overlap -n N` selected N masks per domain and printed only `Wrote o.png`."""
    model = save_folder(tiny_model("llama"), world["llama"])
    out = tmp_path / "o.png"
    run = cli("plot", "overlap", "--model", model, "--data", world["corpus"], "-o", out,
              "-n", "5", "--mask-source", "random")  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = progress_lines(run.stderr, "plot overlap")
    result = json.loads(out.with_suffix(".json").read_text())
    assert finished(lines, "plot overlap", "prompt") == sum(result["n_per_domain"].values())
    assert len(lines) > 2
    assert all(re.match(r"plot overlap: prompt \d+/\d+, ", line) for line in lines[:-1])


def test_mask_overlap_api_is_quiet_unless_asked(world, capfd):
    """``mask_overlap(..., progress=True)`` was a TypeError; by default it prints nothing."""
    model, tok = tiny_model("llama"), ByteTokenizer()
    args = (model, tok, world["corpus"], "griffin", 0.5)
    quiet = evaluation.mask_overlap(*args, n=3, groups=1, domains=DOMAINS)
    assert capfd.readouterr().err == ""
    shown = evaluation.mask_overlap(*args, n=3, groups=1, domains=DOMAINS, progress=True)
    lines = progress_lines(capfd.readouterr().err, "plot overlap")
    assert finished(lines, "plot overlap", "prompt") == 6
    assert shown == quiet
