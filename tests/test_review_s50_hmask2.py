"""Fiftieth session review of the mask sidecars' predictor record (helper hmask2).

1. A mask read where its trained predictor was not found (``predictor(NAME)``) and saved again
   (``Mask.load(...).save(...)``) **lost the
   predictor's sha256 and place**: the copy no longer told another predictor of the name from its
   own. The copy now records the sha256 (and the place, seen from its own folder) it was read with.
2. A predictor retrained in the place a mask records: the mask read as unresolved and
   ``picked_by`` said the predictor **"is not there"** though a folder stood there; and run from
   the folder holding the retrained one (the project's root: ``adapter`` found by name in the
   current folder), **the retrained predictor's LoRA was taken unsaid** despite the sha256.
   Both now say the predictor there is another (its sha256 differs) and what to do.

(``dataclasses.replace`` on a mask drops what ``Mask.load`` read; no code of the package copies
a mask so: nothing to fix there.)
"""

import json
import shutil

from mlx_ifp.core import Mask, UsageError
from mlx_ifp.sources import picked_by

import pytest
from tiny import finetune_folder, predictor_world, world_mask


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return predictor_world(tmp_path_factory.mktemp("hmask2") / "proj")


def shared(world, tmp_path, name):
    """The mask saved beside its predictor (``../adapter``), the two copied to ``tmp_path``."""
    adapter = world[3]
    path = world_mask(world).save(adapter.parent / "masks" / name)
    tree = tmp_path / "tree"
    shutil.copytree(adapter, tree / adapter.name)
    shutil.copytree(adapter.parent / "masks", tree / "masks")
    return tree, json.loads(Mask.files(path)[1].read_text())


def test_a_mask_saved_again_where_its_predictor_is_not_keeps_its_sha256(world, tmp_path):
    tree, meta = shared(world, tmp_path, "a1")
    shutil.rmtree(tree / world[3].name)  # the mask alone: its predictor not there
    back = Mask.load(tree / "masks" / "a1")
    assert back.source == f"predictor({world[3].name})"
    again = json.loads(Mask.files(back.save(tree / "masks" / "a2"))[1].read_text())
    assert again["predictor_sha256"] == meta["predictor_sha256"]
    assert again["predictor_folder"] == meta["predictor_folder"]  # the same place: ../adapter
    deeper = json.loads(Mask.files(back.save(tree / "masks" / "sub" / "a3"))[1].read_text())
    assert deeper["predictor_folder"] == f"../../{world[3].name}"  # seen from its new folder
    other = finetune_folder(world[1], tmp_path / "runs" / world[3].name, 48, seed=8)
    from mlx_ifp.sources.predictor import weights_sha

    assert weights_sha(other) != meta["predictor_sha256"]  # (another predictor of the name)
    shutil.copytree(other, tree / world[3].name)  # at the recorded place: not the copy's
    assert Mask.load(tree / "masks" / "a2").source == f"predictor({world[3].name})"
    shutil.rmtree(tree / world[3].name)
    shutil.copytree(world[3], tree / world[3].name)  # its own, put back: found
    assert picked_by(Mask.load(tree / "masks" / "sub" / "a3")) == str(tree / world[3].name)


def test_a_predictor_retrained_in_its_place_is_said_so(world, tmp_path, monkeypatch):
    tree, meta = shared(world, tmp_path, "r1")
    finetune_folder(world[1], tree / world[3].name, 48, seed=9)  # retrained where it was
    back = Mask.load(tree / "masks" / "r1")
    with pytest.raises(UsageError) as said:
        picked_by(back)
    msg = str(said.value)
    assert "not there" not in msg and meta["predictor_sha256"] in msg, msg
    assert str(tree / world[3].name) in msg and "another predictor" in msg, msg
    monkeypatch.chdir(tree)  # the project's root: its `adapter` folder found by name
    with pytest.raises(UsageError, match="another predictor"):
        picked_by(back)
