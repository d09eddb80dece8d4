"""Review (s46, hexp3): the source files `mlx_ifp export` carries into an mlx-lm folder, against
what `mlx_lm convert` / `mlx_lm fuse` (mlx_lm.utils.save) copy.

Each test failed on the code it was written against, for the reason in its docstring, except
`test_other_source_files_are_not_copied` and `test_a_failed_copy_leaves_the_old_export`, which
guard the fix (no stray file; still atomic).

- `export --model ORG/NAME -o slim` (a Hugging Face repo id, read from the hub cache):
  `generation_config.json` was not written (it was looked for in the current folder, under the
  repo id), where a folder source's was: the export lost its sampling defaults and stop ids.
- `export` of a source whose folder (or repo snapshot) holds a LICENSE (LICENSE.txt, LICENSE.md,
  NOTICE: Apache-2.0's section 4 asks a derivative to carry both): none was written, while the
  model card named the license.
- `export` of a source with custom code (`*.py`: a tokenizer or model class its config names
  through auto_map), which mlx_lm's save copies: dropped, so the export did not load where its
  source did (`trust_remote_code`).
- `load(ORG/NAME, revision=R)` then `export`: the files would come from the snapshot `main`
  names, not the revision loaded (the revision is now recorded with the model's origin).
- `export --model qwen2.5-coder-1.5b-instruct -o slim` (or `-o slim.gguf`): the embedded Qwen's
  GGUF names no license (docs/qwen15b.md: the upstream repo is Apache-2.0), so the model card
  had no `license` and the GGUF no `general.license`; each embedded model's license is now
  recorded beside it and carried when its GGUF lacks one.
"""

import importlib.util
import json
import shutil

import mlx_ifp
from mlx_ifp.cli import app

import pytest
from tiny import save_folder, tiny_model
from typer.testing import CliRunner

GEN = {"eos_token_id": [1, 5], "temperature": 0.6, "top_p": 0.9}
REPO = "SomeOrg/Tiny-Chat"


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def hub_cache(tmp_path, monkeypatch, files: dict, ref: str = "main", commit: str = "a" * 40):
    """A Hugging Face hub cache holding REPO at ``ref`` (snapshot ``commit``: a tiny llama plus
    ``files``, LICENSE as a link into blobs/ as the hub stores it), read offline."""
    from huggingface_hub import constants

    repo = tmp_path / "hub" / f"models--{REPO.replace('/', '--')}"
    snap = save_folder(tiny_model("llama"), repo / "snapshots" / commit)
    (repo / "blobs").mkdir(exist_ok=True)
    for name, text in files.items():
        blob = repo / "blobs" / f"{abs(hash((commit, name))):x}"
        blob.write_text(text)
        (snap / name).symlink_to(blob)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / ref).write_text(commit)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.chdir(tmp_path)
    return snap


@pytest.mark.parametrize("how", ["cli", "api"])
def test_a_repo_source_keeps_its_generation_config(tmp_path, monkeypatch, how):
    """A folder source's generation_config.json was copied; a repo id's was looked for at
    ./ORG/NAME/generation_config.json (never there), so the export lost the stop ids."""
    hub_cache(tmp_path, monkeypatch, {"generation_config.json": json.dumps(GEN)})
    out = tmp_path / "slim"
    if how == "cli":
        run = cli("export", "--model", REPO, "--keep", "0.5", "-o", out)
        assert run.exit_code == 0, run.output
    else:
        model, tok = mlx_ifp.load(REPO)
        mlx_ifp.export(model, tok, out)
    assert json.loads((out / "generation_config.json").read_text()) == GEN  # was: missing
    import mlx_lm

    _, tok = mlx_lm.load(str(out))
    assert {1, 5} <= set(tok.eos_token_ids)


LICENSES = {"LICENSE": "Apache License\nVersion 2.0\n", "NOTICE": "Tiny Chat\nCopyright 2024\n"}


@pytest.mark.parametrize("source", ["folder", "repo"])
def test_the_source_license_and_notice_are_carried(tmp_path, monkeypatch, source):
    """The card named the license, but the LICENSE file (and Apache's NOTICE) was left behind:
    a pruned model uploaded from the export shipped without its license text."""
    if source == "repo":
        hub_cache(tmp_path, monkeypatch, LICENSES)
        name = REPO
    else:
        name = save_folder(tiny_model("llama"), tmp_path / "model")
        for file, text in LICENSES.items():
            (name / file).write_text(text)
    run = cli("export", "--model", name, "--keep", "0.5", "-o", tmp_path / "slim")
    assert run.exit_code == 0, run.output
    for file, text in LICENSES.items():
        assert (tmp_path / "slim" / file).read_text() == text  # was: missing
        assert not (tmp_path / "slim" / file).is_symlink()  # the text, not a link into the cache


@pytest.mark.parametrize("file", ["LICENSE.txt", "LICENSE.md", "license"])
def test_license_files_of_other_names_are_carried(tmp_path, file):
    folder = save_folder(tiny_model("llama"), tmp_path / "model")
    (folder / file).write_text("MIT License\n")
    model, tok = mlx_ifp.load(str(folder))
    mlx_ifp.export(model, tok, tmp_path / "out")
    assert (tmp_path / "out" / file).read_text() == "MIT License\n"  # was: missing


@pytest.mark.parametrize("source", ["folder", "repo"])
def test_custom_code_is_carried_as_mlx_lm_save_copies_it(tmp_path, monkeypatch, source):
    """mlx_lm's save copies the source's `*.py` (the code its config's auto_map names); ours
    dropped them."""
    code = {"tokenization_tiny.py": "# the tokenizer class\n", "modeling_tiny.py": "# model\n"}
    if source == "repo":
        hub_cache(tmp_path, monkeypatch, code)
        model, tok = mlx_ifp.load(REPO)
    else:
        folder = save_folder(tiny_model("llama"), tmp_path / "model")
        for file, text in code.items():
            (folder / file).write_text(text)
        model, tok = mlx_ifp.load(str(folder))
    mlx_ifp.export(model, tok, tmp_path / "out")
    for file, text in code.items():
        assert (tmp_path / "out" / file).read_text() == text  # was: missing


def test_the_files_come_from_the_revision_loaded(tmp_path, monkeypatch):
    """`load(repo, revision="v1")`: the export's generation config and license are v1's, not
    main's (the snapshot looked for had no record of the revision)."""
    hub_cache(tmp_path, monkeypatch, {"generation_config.json": json.dumps(GEN)})
    old = {"eos_token_id": 2, "temperature": 1.0}
    hub_cache(tmp_path, monkeypatch, {"generation_config.json": json.dumps(old),
              "LICENSE": "the v1 license\n"}, ref="v1", commit="b" * 40)  # fmt: skip
    model, tok = mlx_ifp.load(REPO, revision="v1")
    mlx_ifp.export(model, tok, tmp_path / "out")
    assert json.loads((tmp_path / "out" / "generation_config.json").read_text()) == old
    assert (tmp_path / "out" / "LICENSE").read_text() == "the v1 license\n"


def test_other_source_files_are_not_copied(tmp_path):
    """Only what mlx_lm's save copies, and the license: not the source's card (the export
    writes its own), a GGUF conversion's marker, notes, or a folder."""
    folder = save_folder(tiny_model("llama"), tmp_path / "model")
    (folder / "README.md").write_text("---\nlicense: mit\n---\n# the source\n")
    (folder / "notes.txt").write_text("mine\n")
    (folder / "mlx_ifp_gguf.json").write_text("{}")
    (folder / "license_dir.py").mkdir()
    model, tok = mlx_ifp.load(str(folder))
    mlx_ifp.export(model, tok, tmp_path / "out")
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert not names & {"notes.txt", "mlx_ifp_gguf.json", "license_dir.py"}
    assert "# the source" not in (tmp_path / "out" / "README.md").read_text()
    assert "license: mit" in (tmp_path / "out" / "README.md").read_text()


def test_a_failed_copy_leaves_the_old_export(tmp_path, monkeypatch):
    """Atomic as before: a copy that fails leaves the earlier export whole, and no temporary
    folder."""
    folder = save_folder(tiny_model("llama"), tmp_path / "model")
    (folder / "LICENSE").write_text("Apache License\n")
    model, tok = mlx_ifp.load(str(folder))
    mlx_ifp.export(model, tok, tmp_path / "out")
    before = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert "LICENSE" in before

    def broken(src, dst, *a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copyfile", broken)
    with pytest.raises(OSError):
        mlx_ifp.export(model, tok, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_an_embedded_model_whose_gguf_names_no_license_is_exported_with_it(tmp_path, monkeypatch):
    """The embedded Qwen2.5-Coder's GGUF has no general.license (docs/qwen15b.md): its export's
    card named no license, its GGUF export had no general.license. A tiny GGUF without one
    stands in for it (the real one is 1.1 GB)."""
    from mlx_ifp.models import embedded
    from mlx_ifp.models.gguf import gguf_to_mlx_lm

    import test_gguf
    from test_review_s45_hexp2 import front_matter

    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    source = test_gguf.write_gguf(test_gguf.tiny_model("llama"), tmp_path / "q.gguf")
    folder = gguf_to_mlx_lm(source, tmp_path / "cache" / "embedded" / "qwen-q")
    monkeypatch.setattr(embedded, "embedded_folder", lambda name, dequantize=False: folder)
    model, tok = mlx_ifp.load("qwen2.5-coder-1.5b-instruct")
    mlx_ifp.export(model, tok, tmp_path / "slim")
    assert front_matter(tmp_path / "slim").get("license") == "apache-2.0"  # was: none
    if importlib.util.find_spec("gguf") is None:
        return
    import gguf

    mlx_ifp.export_gguf(model, tok, tmp_path / "slim.gguf")
    fields = gguf.GGUFReader(str(tmp_path / "slim.gguf")).fields
    assert fields["general.license"].contents() == "apache-2.0"  # was: missing
