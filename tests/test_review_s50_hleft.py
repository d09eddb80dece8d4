"""Fiftieth session review (helper hleft).

A mask's sidecar (``Mask.save``) named the trained predictor that picked it by its absolute
path (``predictor(/home/me/runs/r1)``): a local path in a file users share, where exports since
the forty-ninth session record none. It now names the folder (``predictor(r1)``), its weights'
sha256 and, when both lie in one tree, its place relative to the mask; reading it back finds the
folder there (or shipped, or the one the model was loaded with), so ``--mask FILE`` still runs
with the predictor's LoRA; a sidecar of old (a path) reads as before.

``mlx_ifp data build -o DIR`` left its lock file ``.DIR.lock`` beside DIR; the lock now lives in
the cache, so nothing is left beside the output, and two builds into one folder still take turns.
"""

import json
import shutil
import threading
from pathlib import Path

import mlx_ifp
from mlx_ifp.core import Mask, UsageError
from mlx_ifp.data import corpus as data
from mlx_ifp.sources import picked_by

import pytest
from corpus import fake_sources
from tiny import predictor_world, world_mask

# ------------------------------------------------------- lead 1: no local path in a mask's sidecar


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return predictor_world(tmp_path_factory.mktemp("hleft") / "proj")


def test_the_sidecar_names_the_predictor_without_a_path(world, tmp_path):
    mask, adapter = world_mask(world), world[3]
    path = mask.save(adapter.parent / "masks" / "t1")
    text = Mask.files(path)[1].read_text()
    meta = json.loads(text)
    assert str(adapter.parent) not in text and str(Path.home()) not in text, text
    assert meta["source"] == f"predictor({adapter.name})"
    assert meta["predictor_folder"] == f"../{adapter.name}" and len(meta["predictor_sha256"]) == 16
    back = Mask.load(path)
    assert back == mask and back.source == f"predictor({adapter})"  # found again, as it was
    assert picked_by(back) == str(adapter)


def test_no_place_is_recorded_across_homes(world, monkeypatch):
    """A predictor and a mask whose one common folder is ``/home`` (or ``/``): a relative place
    would spell the path below it (``../../you/runs/r1``): the folder is named alone."""
    mask, adapter = world_mask(world), world[3]
    monkeypatch.setenv("HOME", str(adapter.parent / "me"))  # /home/me: the mask's tree
    path = mask.save(adapter.parent / "me" / "masks" / "t0")
    meta = json.loads(Mask.files(path)[1].read_text())
    assert meta["source"] == f"predictor({adapter.name})" and "predictor_folder" not in meta


def test_a_mask_shared_with_its_predictor_folder_finds_it_there(world, tmp_path):
    mask, adapter = world_mask(world), world[3]
    mask.save(adapter.parent / "masks" / "t2")
    moved = tmp_path / "elsewhere"
    shutil.copytree(adapter, moved / adapter.name)
    shutil.copytree(adapter.parent / "masks", moved / "masks")
    back = Mask.load(moved / "masks" / "t2")
    assert picked_by(back) == str(moved / adapter.name)  # not the first machine's folder


def test_a_mask_whose_predictor_is_elsewhere_runs_with_the_folder_given(world, tmp_path):
    folder, bare, tok, adapter = world
    mask = world_mask(world)
    mask.save(tmp_path / "m" / "t3")
    other = tmp_path / "copy" / adapter.name  # the same predictor, not where the mask says
    shutil.copytree(adapter, other)
    sidecar = tmp_path / "m" / "t3.json"
    meta = json.loads(sidecar.read_text())  # as saved on a machine whose folder is not here:
    meta.pop("predictor_folder", None)  # no place of it recorded (their trees apart)
    sidecar.write_text(json.dumps({**meta, "source": f"predictor({adapter.name})"}))
    back = Mask.load(tmp_path / "m" / "t3")
    said = f"predictor in {adapter.name}, which is not there: put the folder back or give it"
    with pytest.raises(UsageError, match=said):
        picked_by(back)
    lora, _ = mlx_ifp.load(str(folder), adapter_path=str(other))  # --adapter DIR
    slim, _ = mlx_ifp.select(lora, tok, mask=back)  # its own predictor's mask: with its LoRA
    assert slim is not None


def test_an_old_sidecar_with_a_path_still_reads(world, tmp_path):
    mask, adapter = world_mask(world), world[3]
    path = mask.save(tmp_path / "old")
    sidecar = Mask.files(path)[1]
    meta = json.loads(sidecar.read_text())
    for key in ("predictor_folder", "predictor_sha256"):
        meta.pop(key, None)
    meta["source"] = f"predictor({adapter})"  # as earlier versions wrote it
    sidecar.write_text(json.dumps(meta))
    back = Mask.load(path)
    assert back == mask and picked_by(back) == str(adapter)


# ------------------------------------------------------ lead 2: no lock file beside a data build


def test_a_data_build_leaves_nothing_beside_its_output(tmp_path, monkeypatch):
    fake_sources(tmp_path / "src", monkeypatch)
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "o" / "corpus"
    assert data.build(out, data.BuildConfig(), verbose=False) == out
    assert sorted(p.name for p in out.parent.iterdir()) == ["corpus"]

    def broken(*a, **k):
        raise RuntimeError("a source failed")

    monkeypatch.setattr(data, "gather", broken)
    failed = tmp_path / "f" / "corpus"
    with pytest.raises(RuntimeError):
        data.build(failed, data.BuildConfig(), verbose=False)
    assert not failed.parent.exists() or list(failed.parent.iterdir()) == []


def test_two_builds_into_one_folder_by_two_spellings_take_turns(tmp_path, monkeypatch, capfd):
    """The lock is the folder's, however it is named (a relative path, a link's)."""
    fake_sources(tmp_path / "src", monkeypatch)
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    (tmp_path / "link").symlink_to(tmp_path / "o", target_is_directory=False)
    (tmp_path / "o").mkdir()
    real, calls, both = data.gather, [], threading.Event()

    def slow(*args, **kwargs):
        calls.append(1)
        both.wait(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(data, "gather", slow)
    first = threading.Thread(target=data.build, args=(tmp_path / "o" / "c", data.BuildConfig()))
    first.start()
    while not calls:
        first.join(0.01)
    threading.Timer(0.3, both.set).start()
    data.build(tmp_path / "link" / "c", data.BuildConfig(), verbose=False)
    first.join()
    assert calls == [1] and "Waiting for another data build of c" in capfd.readouterr().err
