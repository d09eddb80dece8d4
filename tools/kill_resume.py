"""SIGKILL a tiny `mlx_ifp finetune` at random moments; resumed, it must end as a straight run.

A tiny random Llama (tests/tiny.py) trains for ``--iters`` steps, saving every step, once
straight through and once killed ``--kills`` times at moments drawn uniformly over the straight
run's training phase. After each kill every checkpoint on disk must load and pass its sha256
check; each resume sweeps what the kill left. Prints (or writes with -o) JSON: per kill the
moment, the step saved, whether it landed inside a checkpoint write, what was swept; and the
final comparison. Run from the repository root:

    OPENBLAS_NUM_THREADS=1 python tools/kill_resume.py --kills 10 -o docs/results/kill_resume.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup(root: Path, iters: int, seed: int = 0) -> dict:
    """A tiny model folder, a data folder and a finetune config under ``root``."""
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    import mlx_ifp  # noqa: F401  (the optimized BLAS before mlx.core)

    from bad_world import words_data
    from tiny import save_folder, tiny_model

    model = save_folder(tiny_model("llama", hidden_size=128, intermediate_size=256), root / "model")
    data = words_data(root / "data", n_train=48, n_valid=4)
    cfg = dict(model=str(model), data=str(data), iters=iters, batch_size=4, save_every=1)
    cfg.update(val_every=0, max_seq_length=32, train="lora", lora_layers=2, seed=seed)
    cfg.update(predictor=dict(layers=1, rank=8), quiet=True, probe_prompts=0)
    return cfg


def command(cfg: dict, out: Path, root: Path, resume: bool) -> list[str]:
    if resume:
        return [sys.executable, "-m", "mlx_ifp", "finetune", "--resume", str(out)]
    path = root / f"{out.name}.yaml"
    path.write_text(json.dumps({**cfg, "output": str(out)}))  # JSON is YAML
    return [sys.executable, "-m", "mlx_ifp", "finetune", "-c", str(path)]


def environment() -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    return {**env, "PYTHONUNBUFFERED": "1"}


def saved_step(out: Path) -> int | None:
    """The step of the checkpoint in ``out`` after checking every file's sha256 (None if none)."""
    from mlx_ifp.train.checkpoint import read_state, verify

    if not out.exists():
        return None
    state = read_state(out)  # raises on a broken checkpoint: the run fails
    verify(out, state)
    return state["step"]


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.glob(f".{out.name}.*"))


def straight(cfg: dict, root: Path) -> dict:
    """The uninterrupted run, timed: when training starts (first checkpoint) and ends."""
    out = root / "straight"
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        command(cfg, out, root, False), env=environment(), stderr=subprocess.PIPE
    )
    first = None
    while proc.poll() is None:
        if first is None and (out / "trainer_state.json").exists():
            first = time.perf_counter() - t0
        time.sleep(0.01)
    err = proc.stderr.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"the straight run failed:\n{err[-3000:]}")
    return {"out": out, "first_save_s": first or 0.0, "total_s": time.perf_counter() - t0}


def killed(cfg: dict, root: Path, kills: int, step_s: float, rng: random.Random) -> dict:
    """Kill the run ``kills`` times, each at a random moment once it is training.

    A process counts as training once it has saved a step beyond the one it resumed from;
    the kill then comes after a uniform random delay of up to ``spread`` steps' time, so it
    lands anywhere in a step: in the forward and backward passes or inside a checkpoint write.
    """
    out, records = root / "killed", []
    spread = max(1, cfg["iters"] // (2 * kills))
    while len(records) < kills:
        before = saved_step(out)
        cmd = command(cfg, out, root, resume=before is not None)
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=environment(), stderr=subprocess.DEVNULL)
        while proc.poll() is None and state_step(out) in (None, before):
            time.sleep(0.002)
        delay = rng.uniform(0, spread * step_s)
        t1 = time.perf_counter()
        while proc.poll() is None and time.perf_counter() - t1 < delay:
            time.sleep(0.001)
        if proc.poll() is not None:
            raise SystemExit("a run ended before its kill: use more --iters or fewer --kills")
        os.kill(proc.pid, signal.SIGKILL)
        at = time.perf_counter() - t0
        proc.wait()
        left = leftovers(out)
        step = saved_step(out)  # every checkpoint on disk loads and passes its checksums
        records.append(
            {"kill_at_s": round(at, 3), "step_before": before, "step_saved": step,
             "in_checkpoint_write": any(".tmp" in n for n in left), "left_behind": left}
        )  # fmt: skip
    proc = subprocess.run(
        command(cfg, out, root, resume=True), env=environment(), capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"the final resume failed:\n{proc.stderr[-3000:]}")
    return {"out": out, "kills": records, "swept": leftovers(out) == []}


def state_step(out: Path) -> int | None:
    """The step in ``out``'s trainer_state.json, without checks (None while there is none)."""
    try:
        return json.loads((out / "trainer_state.json").read_text())["step"]
    except (OSError, ValueError, KeyError):
        return None


def compare(a: Path, b: Path) -> dict:
    """Loss histories and every saved weight of two finished runs."""
    import mlx.core as mx
    import numpy as np

    ha = json.loads((a / "trainer_state.json").read_text())["history"]
    hb = json.loads((b / "trainer_state.json").read_text())["history"]
    diff = 0.0
    for name in ("predictor.safetensors", "adapters.safetensors"):
        wa, wb = mx.load(str(a / name)), mx.load(str(b / name))
        assert wa.keys() == wb.keys()
        diff = max([diff, *(float(mx.abs(wa[k] - wb[k]).max()) for k in wa)])
    same = len(ha) == len(hb) and np.allclose(ha, hb, rtol=1e-5, atol=1e-6)
    gap = float(np.max(np.abs(np.subtract(ha, hb)))) if len(ha) == len(hb) else None
    return {"steps": len(hb), "final_loss_straight": ha[-1], "final_loss_resumed": hb[-1],
            "max_loss_diff": gap, "max_weight_diff": diff,
            "same_loss_history": bool(same)}  # fmt: skip


def run(kills: int = 10, iters: int = 60, seed: int = 0, workdir: str | None = None) -> dict:
    rng = random.Random(seed)
    root = Path(workdir or tempfile.mkdtemp(prefix="kill_resume."))
    root.mkdir(parents=True, exist_ok=True)
    cfg = setup(root, iters, seed)
    ref = straight(cfg, root)
    step_s = (ref["total_s"] - ref["first_save_s"]) / iters  # an upper bound: exit included
    result = killed(cfg, root, kills, step_s, rng)
    cmp = compare(ref["out"], result["out"])
    ok = cmp["same_loss_history"] and cmp["max_weight_diff"] == 0.0 and result["swept"]
    return {"kills": kills, "survived": len(result["kills"]) if ok else 0, "iters": iters,
            "save_every": 1, "seed": seed, "step_s": round(step_s, 4),
            "straight_s": round(ref["total_s"], 2), "per_kill": result["kills"],
            "kills_in_checkpoint_write": sum(k["in_checkpoint_write"] for k in result["kills"]),
            "leftovers_after_final_run": not result["swept"], **cmp, "ok": bool(ok)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=10, help="SIGKILLs before the final resume")
    ap.add_argument("--iters", type=int, default=60, help="optimizer steps of the tiny run")
    ap.add_argument("--seed", type=int, default=0, help="seed of the kill moments and the run")
    ap.add_argument("--workdir", help="keep the runs here (default: a temporary folder)")
    ap.add_argument("-o", "--output", help="write the JSON here too")
    args = ap.parse_args()
    result = run(args.kills, args.iters, args.seed, args.workdir)
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        from mlx_ifp.common import atomic_file

        with atomic_file(args.output) as tmp:
            tmp.write_text(text + "\n")
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
