"""tools/train_default.sh: which finetune calls the recipe makes (a stub `python` records them)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STUB = """#!/usr/bin/env bash
echo "$@" >> "$CALLS"
"""


def run_script(tmp_path, *args, **env):
    if shutil.which("bash") is None:
        pytest.skip("no bash")
    stub = tmp_path / "bin"
    stub.mkdir(parents=True)
    (stub / "python").write_text(STUB)
    (stub / "python").chmod(0o755)
    calls = tmp_path / "calls.txt"
    data = tmp_path / "data"
    for domain in ("math", "code", "science", "prose", "general"):  # a whole corpus, as built
        (data / "domains" / domain).mkdir(parents=True)
        (data / "domains" / domain / "train.jsonl").write_text("{}\n")
    full_env = {**os.environ, "PATH": f"{stub}:{os.environ['PATH']}", "CALLS": str(calls)}
    facts = tmp_path / "facts"  # the corpus with the facts, as if made already (stage 2f)
    facts.mkdir(exist_ok=True)
    full_env.update(DATA=str(data), FACTS=str(facts))
    full_env.update(env)
    out = tmp_path / "runs"
    subprocess.run(["bash", "tools/train_default.sh", str(out), *args], cwd=ROOT, env=full_env,
                   check=True, capture_output=True, text=True, timeout=60)  # fmt: skip
    lines = calls.read_text().splitlines() if calls.exists() else []
    return out, lines


def test_keeps_from_the_argument_or_the_environment(tmp_path):
    _, by_arg = run_script(tmp_path / "a", "0.5", ARMS="static")
    _, by_env = run_script(tmp_path / "b", KEEPS="0.33", ARMS="static")
    assert [c.split("--keep ")[1].split()[0] for c in by_arg] == ["0.5"] * 4
    assert [c.split("--keep ")[1].split()[0] for c in by_env] == ["0.33"] * 4


def test_each_arm_runs_stage_1_then_stage_2_from_it_then_continues_stage_2_twice(tmp_path):
    out, calls = run_script(tmp_path, "0.5", ARMS="route50 static")
    assert len(calls) == 8
    arms = zip(("route50", "static"), (calls[:4], calls[4:]), strict=True)
    for arm, (one, two, cont, facts) in arms:
        run = out / f"k0.5-{arm}"
        assert f"-o {run}/stage1" in one and "/pretrain" in one and "--init-from" not in one
        assert f"-o {run}/stage2" in two and "/sft" in two
        assert f"--init-from {run}/stage1" in two
        # 2c: stage 2's YAML and data, from its weights, to 1,280 steps, learning rates decayed
        assert f"-c {run}/stage2.yaml" in cont and "/sft" in cont and f"-o {run}/stage2c" in cont
        assert f"--init-from {run}/stage2 " in cont and "--start-step 640 --iters 1280" in cont
        assert "--lr-schedule cosine" in cont
        # 2f: 2c's weights, 480 more steps at half the rates on the corpus with the facts
        assert f"--data {tmp_path}/facts/sft" in facts and f"-o {run}/stage2f" in facts
        assert f"--init-from {run}/stage2c " in facts and "--start-step 1280 --iters 1760" in facts
        assert "--learning-rate 1e-4 --predictor-lr 1.5e-3" in facts
    routed = (out / "k0.5-route50" / "stage1.yaml").read_text()
    assert "route: griffin" in routed and "shared: 0.50" in routed
    static = (out / "k0.5-static" / "stage2.yaml").read_text()
    assert "head: static" in static and "route:" not in static


def test_stage_2_alone_can_continue_other_runs(tmp_path):
    out, calls = run_script(
        tmp_path, "0.5", ARMS="rw25 static", STAGES="2", INIT2="/packs", EXTRA2="--start-step 400"
    )
    assert len(calls) == 2
    for arm, call in zip(("rw25", "static"), calls, strict=True):
        assert f"--init-from /packs/k0.5-{arm} " in call and "--start-step 400" in call
        assert f"-o {out}/k0.5-{arm}/stage2" in call


def test_stage_2_from_scratch_with_init2_none(tmp_path):
    out, calls = run_script(tmp_path, "0.5", ARMS="rw25 static", STAGES="2", INIT2="none")
    assert len(calls) == 2
    for arm, call in zip(("rw25", "static"), calls, strict=True):
        assert "--init-from" not in call and "sft" in call
        assert f"-o {out}/k0.5-{arm}/stage2" in call


def test_resume_continues_a_stage_that_holds_a_checkpoint(tmp_path):
    out = tmp_path / "runs"
    (out / "k0.5-rw25" / "stage1").mkdir(parents=True)
    (out / "k0.5-rw25" / "stage1" / "trainer_state.json").write_text("{}")
    (out / "k0.5-rw25" / "stage2c").mkdir(parents=True)
    (out / "k0.5-rw25" / "stage2c" / "trainer_state.json").write_text("{}")
    _, calls = run_script(tmp_path, "0.5", ARMS="rw25", RESUME="1")
    assert f"--resume {out}/k0.5-rw25/stage1" in calls[0]
    assert "--resume" not in calls[1] and f"--init-from {out}/k0.5-rw25/stage1" in calls[1]
    assert f"--resume {out}/k0.5-rw25/stage2c" in calls[2]  # a continued run resumes too
    assert "--resume" not in calls[3] and f"--init-from {out}/k0.5-rw25/stage2c" in calls[3]


def test_the_corpus_with_the_facts_is_made_once_when_absent(tmp_path):
    facts = tmp_path / "made" / "facts"
    _, calls = run_script(tmp_path, "0.5", ARMS="rw25 static", FACTS=str(facts))
    assert calls[0] == f"tools/make_facts.py --corpus {facts} --data {tmp_path}/data"
    assert sum("make_facts" in c for c in calls) == 1 and len(calls) == 9
    _, alone = run_script(tmp_path / "b", "0.5", ARMS="rw25", STAGES="2c", FACTS=str(facts))
    assert not any("make_facts" in c for c in alone)  # only when stage 2f runs


def test_reweight_arms_write_the_learned_route_and_its_bound(tmp_path):
    out, calls = run_script(tmp_path, "0.5", ARMS="rw25", RW_BOUND="2.5", STAGES="1 2")
    assert len(calls) == 2
    text = (out / "k0.5-rw25" / "stage2.yaml").read_text()
    assert "route: reweight" in text and "shared: 0.25" in text and "route_bound: 2.5" in text


def test_default_arms_are_the_shipped_recipe_and_its_static_control(tmp_path, monkeypatch):
    monkeypatch.delenv("ARMS", raising=False)
    out, calls = run_script(tmp_path, "0.5")
    assert len(calls) == 8
    assert (out / "k0.5-rw25" / "stage1.yaml").is_file() and (out / "k0.5-static").is_dir()


def test_rw_arms_re_pick_a_quarter_of_stage_2_rows_and_the_control_does_not(tmp_path):
    _, calls = run_script(tmp_path / "a", "0.5", ARMS="rw25 static")
    one, two, cont, facts, static_one, static_two, static_cont, static_facts = calls
    for call in (two, cont, facts):
        assert "--repick 16 --repick-share 0.25" in call
    statics = (one, static_one, static_two, static_cont, static_facts)
    assert all("--repick" not in c for c in statics)
    _, before = run_script(tmp_path / "b", "0.5", ARMS="rw25", REPICK2="")
    assert all("--repick" not in c for c in before)
    _, mixed = run_script(tmp_path / "c", "0.5", ARMS="rw25", EXTRA2="--repick-share 0.5")
    assert mixed[1].index("--repick-share 0.25") < mixed[1].index("--repick-share 0.5")


def refused(tmp_path, **env):
    """tools/train_default.sh's exit code and stderr, finetune never called."""
    calls = tmp_path / "calls.txt"
    stub = tmp_path / "bin"
    stub.mkdir(parents=True)
    (stub / "python").write_text(STUB)
    (stub / "python").chmod(0o755)
    full = {k: v for k, v in os.environ.items() if k != "DATA"}  # the default corpus unless given
    full.update(PATH=f"{stub}:{os.environ['PATH']}", CALLS=str(calls), **env)
    cmd = ["bash", "tools/train_default.sh", str(tmp_path / "runs"), "0.5"]
    done = subprocess.run(cmd, cwd=ROOT, env=full, capture_output=True, text=True, timeout=60)
    assert not calls.exists()
    return done.returncode, done.stderr


def test_a_corpus_without_prose_is_refused_unless_partial(tmp_path):
    data = tmp_path / "data"
    for domain in ("math", "code", "science", "general"):  # built without the Debian packages
        (data / "domains" / domain).mkdir(parents=True)
        (data / "domains" / domain / "train.jsonl").write_text("{}\n")
    code, err = refused(tmp_path / "a", DATA=str(data), ARMS="static", STAGES="2")
    assert code == 2 and "has no prose" in err and "Traceback" not in err
    _, calls = run_script(tmp_path / "b", "0.5", ARMS="static", STAGES="2", PARTIAL="1")
    assert len(calls) == 1  # PARTIAL=1 trains on what is there


def test_the_default_corpus_is_the_one_cached_build_and_several_are_refused(tmp_path):
    cache = tmp_path / "cache"
    for name in ("v1-seed0-aaaa", "v1-seed0-bbbb"):  # e.g. with and without the prose packages
        (cache / "data" / name).mkdir(parents=True)
        (cache / "data" / name / "manifest.json").write_text("{}")
    (cache / "data" / "v1-seed0-half").mkdir()  # no manifest: not a corpus (as cached_build)
    code, err = refused(tmp_path / "a", MLX_IFP_CACHE=str(cache), ARMS="static", STAGES="2")
    assert code == 2 and "2 corpora" in err and "DATA=" in err
    code, err = refused(tmp_path / "b", MLX_IFP_CACHE=str(tmp_path / "empty"), STAGES="2")
    assert code == 2 and "0 corpora" in err and "run mlx_ifp data build" in err  # was "1 corpora"
