"""The thirty-third session's hunt in three recently changed areas: `export` (alias `convert`)
with its own mask source, `--adapter` and `-o *.gguf`; the pruner a given mask is cut with
(`mask_owner`, `_sourcing`, the shared-pruner cache); and training batches addressed by their
first row (`Batches.rows/at`, the data position on resume). Each test fails on the code it was
written against, for the reason its docstring gives."""

import hashlib
import json
import shutil
import subprocess
import sys

import mlx_ifp
from mlx_ifp.core import UsageError

import numpy as np
import pytest
from bad_world import no_model_load, one_error
from test_export_own_source import PROMPT, logits
from test_review_s32_cli import cli
from tiny import finetune_folder, save_folder, tiny_model


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("s33hunt")
    folder = save_folder(tiny_model("llama"), root / "model")
    bare, tok = mlx_ifp.load(str(folder))
    return {
        "root": root,
        "model": folder,
        "bare": bare,
        "tok": tok,
        "adapter": finetune_folder(bare, root / "adapter", 48),
        "frozen": finetune_folder(bare, root / "frozen", 48, train="frozen"),
    }


# ------------------------------------------------ export: refused before the model loads


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--adapter", "{root}/no-such-adapter", "-p", PROMPT], "adapter folder not found"),
        (["--adapter", "{adapter}"], "selects from text"),
        (["--mask-source", "griffin"], "selects from text"),
    ],
    ids=["missing-adapter", "adapter-without-text", "griffin-without-text"],
)
def test_export_refuses_what_it_can_before_loading_the_model(
    world, monkeypatch, tmp_path, args, says
):
    """Each of these is known from the flags alone (a folder that is not there; a source that
    reads text, given none), but export loaded the model first (for a Hugging Face id: the
    download) and only then refused: `mlx_ifp.load` is reached today."""

    no_model_load(monkeypatch)
    args = [a.format(root=world["root"], adapter=world["adapter"]) for a in args]
    run = cli("export", "--model", world["model"], "-o", tmp_path / "out", *args)
    assert says in one_error(run)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------ a predictor's mask whose folder is not found


def test_a_predictor_mask_exports_the_same_model_from_any_working_directory(
    world, monkeypatch, tmp_path
):
    """A mask picked with `--adapter adapter` (a relative path) records `predictor(adapter)`.
    Exported from another directory, `picked_by` no longer finds the folder, so export silently
    cut the bare model (no LoRA) where, from the first directory, it fused the LoRA: one mask
    file, two different models, and no word said. It should be the same model, or refused."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copytree(world["adapter"], home / "adapter")
    monkeypatch.chdir(home)
    lora, tok = mlx_ifp.load(str(world["model"]), adapter_path="adapter")
    _, info = mlx_ifp.select(lora, tok, PROMPT, mask_source="predictor")
    assert info.mask.source == f"predictor({home / 'adapter'})"  # was "predictor(adapter)"
    mask = info.mask.save(tmp_path / "m")
    run = cli("export", "--model", world["model"], "--mask", mask, "-o", tmp_path / "here")
    assert run.returncode == 0, run.stderr  # from where it was picked: with its LoRA
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = cli(
        "export", "--model", world["model"], "--mask", mask, "-o", tmp_path / "there",
        cwd=elsewhere,
    )  # fmt: skip
    if run.returncode != 0:  # refusing is fine: one line naming the predictor it cannot find
        assert "adapter" in one_error(run)
        return
    np.testing.assert_allclose(
        logits(tmp_path / "there"), logits(tmp_path / "here"), atol=1e-4, rtol=1e-4
    )


def test_a_predictor_mask_whose_folder_is_gone_is_not_cut_from_the_bare_model(world, tmp_path):
    """With its folder present, a jointly trained predictor's mask on a model without its LoRA
    is refused (test_mask_owner). With the folder moved or deleted, `mask_owner` read the mask
    as GRIFFIN's ("full") and `select(mask=M)` silently cut the bare model: the refusal
    vanished exactly when the LoRA it needs cannot be had."""
    moved = shutil.copytree(world["adapter"], tmp_path / "adapter")
    lora, tok = mlx_ifp.load(str(world["model"]), adapter_path=str(moved))
    _, info = mlx_ifp.select(lora, tok, PROMPT, mask_source="predictor")
    with pytest.raises(UsageError, match="trained jointly"):  # the folder is there: refused
        mlx_ifp.select(world["bare"], world["tok"], mask=info.mask)
    shutil.rmtree(moved)
    with pytest.raises(UsageError, match="adapter|predictor"):
        mlx_ifp.select(world["bare"], world["tok"], mask=info.mask)


def test_export_of_a_predictor_mask_whose_folder_is_gone_is_refused(world, tmp_path):
    """The CLI face of the above: `export --mask M` wrote the bare slice, exit 0, where the
    mask's own predictor had been trained with a LoRA that is no longer anywhere."""
    moved = shutil.copytree(world["adapter"], tmp_path / "adapter")
    lora, tok = mlx_ifp.load(str(world["model"]), adapter_path=str(moved))
    _, info = mlx_ifp.select(lora, tok, PROMPT, mask_source="predictor")
    mask = info.mask.save(tmp_path / "m")
    shutil.rmtree(moved)
    run = cli("export", "--model", world["model"], "--mask", mask, "-o", tmp_path / "out")
    assert "adapter" in one_error(run)
    assert not (tmp_path / "out").exists()


# ------------------------------------------------ the shared pruner of a given mask


def test_a_foreign_predictors_mask_is_a_cache_hit_the_second_time(world):
    """`mask_owner` makes a new `PredictorSource` on every call; `get_pruner` keeps a pruner
    for a source instance only if it is that very instance, so each `select(mask=M)` of another
    (frozen-LLM) predictor's mask built a new Pruner and sliced the model again: the shared
    slim-model cache never hit (a GRIFFIN mask's second select does)."""
    fro, tok = mlx_ifp.load(str(world["model"]), adapter_path=str(world["frozen"]))
    _, info = mlx_ifp.select(fro, tok, PROMPT, mask_source="predictor")
    bare = world["bare"]
    mlx_ifp.select(bare, world["tok"], mask=info.mask)
    _, again = mlx_ifp.select(bare, world["tok"], mask=info.mask)
    assert again.cache_hit


# ------------------------------------------------ export: what the written config records


def test_export_with_an_adapter_records_the_adapter_in_the_config(world, tmp_path):
    """`export --adapter A --mask-source static` writes A's LoRA fused into the weights, but the
    config's `mlx_ifp` entry names only the source model, its (bare) fingerprint and a static
    mask: nothing says the weights are not that model's static slice."""
    run = cli(
        "export", "--model", world["model"], "--adapter", world["adapter"],
        "--mask-source", "static", "-o", tmp_path / "o",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    meta = json.loads((tmp_path / "o" / "config.json").read_text())["mlx_ifp"]
    assert meta["mask_source"] == "static"
    weights = (world["adapter"] / "adapters.safetensors").read_bytes()  # (s49: not its path)
    assert meta["adapter"] == world["adapter"].name, meta
    assert meta["adapter_sha256"] == hashlib.sha256(weights).hexdigest()[:16], meta


def test_export_says_a_keep_mismatch_as_one_warning_line(world, tmp_path):
    """`generate --adapter A --keep 32` says the budget mismatch as one `Warning:` line; export
    let Python's warning machinery print it: the source file's path, the warning class and the
    line of code (`pruner = Pruner(model, tokenizer, source, budget)  # not k: ...`)."""
    run = subprocess.run(
        [sys.executable, "-m", "mlx_ifp", "export", "--model", str(world["model"]),
         "--adapter", str(world["adapter"]), "--keep", "32", "-p", PROMPT,
         "-o", str(tmp_path / "o")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    said = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(said) == 1 and said[0].startswith("Warning: "), run.stderr


# ------------------------------------------------ training batches


def test_a_batch_never_holds_one_example_twice():
    """With batches read off one endless stream, a batch that crosses an epoch's end takes the
    next epoch's first rows: with 6 examples and a batch of 4 one example can be in a batch
    twice (and on two ranks). Before, each batch held distinct examples of one epoch."""
    from mlx_ifp.train.batches import Batches

    data = Batches(list(range(6)), 4, seed=0)
    twice = [b for b in range(32) if len(set(data.indices(b))) < 4]
    assert twice == [], f"batches {twice[:5]} hold an example twice: {data.indices(twice[0])}"


def test_an_old_checkpoint_resumes_where_its_epoch_stopped(monkeypatch, tmp_path):
    """A checkpoint from before `rows_consumed` recorded `batches_consumed` of batches that
    were read per epoch, whole batches only (10 examples, batch 4: rows 0-7 of each epoch's
    order, the last 2 left out). Resume read it as stream row `batches * batch_size`: after 3
    batches (epoch 1's rows 0-3 read last) it started at row 12, epoch 1's row 2, and read
    rows 2 and 3 of that epoch again instead of going on with rows 4-7."""
    import mlx_ifp.train.batches as batches
    from mlx_ifp.train import finetune
    from mlx_ifp.train.batches import load_data

    import numpy as np
    from test_finetune import Tok, cfg_for, make_data

    data = make_data(tmp_path / "d", n_train=10)
    finetune(cfg_for(data, tmp_path / "b", iters=3), tiny_model("llama"), Tok())
    state_file = tmp_path / "b" / "trainer_state.json"
    state = json.loads(state_file.read_text())
    state.pop("data_position")
    state["batches_consumed"] = 3  # as the old trainer wrote it: step x grad_accumulation
    state_file.write_text(json.dumps(state))

    train = load_data(data, Tok(), "sft", 32)[0]
    seed, n, bs = state["config"]["seed"], len(train), 4

    def old_batch(b: int) -> list[int]:  # the old trainer's batch b
        epoch, i = divmod(b, n // bs)
        order = np.random.default_rng([seed, epoch]).permutation(n)
        return order[i * bs : (i + 1) * bs].tolist()

    seen, collate = [], batches.collate
    monkeypatch.setattr(batches, "collate", lambda ex, *a: seen.extend(ex) or collate(ex, *a))
    finetune(cfg_for(data, tmp_path / "b", iters=4, resume=str(tmp_path / "b")),
             tiny_model("llama"), Tok())  # fmt: skip
    read_again = {tuple(train[j].tokens) for j in old_batch(2)} & {tuple(e.tokens) for e in seen}
    assert not read_again, f"{len(read_again)} rows of the old run's last batch read again"
    assert [e.tokens for e in seen] == [train[j].tokens for j in old_batch(3)]


def test_reusing_a_predictors_mask_says_nothing_of_the_budget_it_was_trained_for(world):
    """The pruner of a given mask is built at the mask's width, so reusing a mask a predictor
    picked at another budget than it was trained for warned again ("trained to keep 48, not
    32"), though the mask fixes the budget."""
    import warnings

    fro, tok = mlx_ifp.load(str(world["model"]), adapter_path=str(world["frozen"]))
    with pytest.warns(UserWarning, match="trained to keep 48"):  # picking at 32: said once
        _, info = mlx_ifp.select(fro, tok, PROMPT, mask_source="predictor", keep=32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mlx_ifp.select(world["bare"], world["tok"], mask=info.mask)
    assert [str(w.message) for w in caught] == []


def test_a_shipped_predictors_mask_from_another_install_finds_this_installs_predictor():
    """A mask records the predictor's folder; for the shipped one that is inside the package,
    wherever mlx_ifp was installed when the mask was picked (an app ships the mask). Elsewhere
    that folder is not there: the mask is this install's shipped predictor's, not refused."""
    from types import SimpleNamespace

    from mlx_ifp.models import WEIGHTS
    from mlx_ifp.sources import picked_by

    moved = "/elsewhere/site-packages/mlx_ifp/weights/smollm2-135m-instruct-k0.33"
    assert picked_by(SimpleNamespace(source=f"predictor({moved})")) == str(
        WEIGHTS / "smollm2-135m-instruct-k0.33"
    )
    with pytest.raises(UsageError, match="not there"):
        picked_by(SimpleNamespace(source="predictor(/elsewhere/weights/no-such-predictor)"))
    assert picked_by(SimpleNamespace(source="griffin")) is None
