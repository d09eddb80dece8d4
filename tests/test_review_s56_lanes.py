"""``tools/device_lanes.sh``: a lane's out-of-memory rerun and a running ``after`` script.

In the fifty-sixth session a training lane was started while ``after``'s scoring script ran
its evals on the same GPU. The lane ran out of memory at its first step; its rerun "alone, once
the other lanes end" **started at once** (``wait-others`` looked at lanes only, and the scoring
script is not a lane), ran out of memory again, and so did its eager rerun: the lane ended
without a step, and the scoring job beside it died too. ``wait-others`` now also waits while an
``after`` script is running (``started`` written, no ``rc`` yet), and ``start`` warns beside one.
"""

import os
import subprocess
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "device_lanes.sh"


def _env(tmp_path):
    return {
        **os.environ,
        "LANES_DIR": str(tmp_path / "lanes"),
        "AFTER_DIR": str(tmp_path / "after"),
    }


def _setup(tmp_path, rc: bool):
    (tmp_path / "lanes").mkdir()
    (tmp_path / "lanes" / "lane_static.log").write_text("...\nTRAINDONE\n")
    (tmp_path / "lanes" / "lane_rw25.log").write_text("stage 2 out of memory\n")
    (tmp_path / "after").mkdir()
    (tmp_path / "after" / "started").write_text("docs/results/x/score.sh\n")
    if rc:
        (tmp_path / "after" / "rc").write_text("0\n")


def test_the_rerun_waits_for_a_running_after_script(tmp_path):
    """Failed before: ``wait-others`` returned at once with the scoring script still running."""
    _setup(tmp_path, rc=False)
    cmd = ["bash", str(SCRIPT), "wait-others", "rw25"]
    proc = subprocess.Popen(cmd, env=_env(tmp_path), stdout=subprocess.DEVNULL)
    try:
        time.sleep(3)
        assert proc.poll() is None, "the rerun did not wait for the running after script"
        (tmp_path / "after" / "rc").write_text("0\n")  # the script ends: the rerun may go
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()


def test_a_finished_after_script_is_not_waited_on(tmp_path):
    """Guard: once the script wrote its exit code (or none ever started), the rerun goes."""
    _setup(tmp_path, rc=True)
    cmd = ["bash", str(SCRIPT), "wait-others", "rw25"]
    assert subprocess.run(cmd, env=_env(tmp_path), timeout=30).returncode == 0


def test_start_warns_beside_a_running_after_script(tmp_path):
    """``start`` says in one line that the lane will share the GPU with the script (no arm is
    given here, so nothing is started)."""
    _setup(tmp_path, rc=False)
    env = {**_env(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(["bash", str(SCRIPT), "start", "0.5"], env=env, capture_output=True,
                         text=True, timeout=30)  # fmt: skip
    said = out.stderr.strip()
    assert said.count("\n") == 0 and "score.sh is still running here" in said, said
