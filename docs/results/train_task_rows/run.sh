# Per-task rows (README.md here; written before it runs): the shipped keep-0.5 default (rw25.f,
# step 1,760) continued 480 steps with a quarter of each batch's rows on per-task masks
# (rw25.t), the same continuation without them (rw25.c), and the learned static control
# (static.f -> static.g) continued the same steps, three lanes side by side on one H200.
# After the tools/device_parts.sh calls, in the last call:
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; bash docs/results/train_task_rows/run.sh SECONDS
# Later calls, issued in the same batch as that one:
#   bash tools/device_lanes.sh poll 500
#   bash tools/device_lanes.sh after docs/results/train_task_rows/score.sh   # until "done"
set -u
secs=${1:?usage: bash docs/results/train_task_rows/run.sh SECONDS}
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
tail -n 2 /tmp/setup.log 2>/dev/null
mkdir -p /tmp/init
ln -sfn "$PWD/mlx_ifp/weights/smollm2-135m-instruct" /tmp/init/k0.5-rw25
ln -sfn "$PWD/docs/results/train_facts/staticf" /tmp/init/k0.5-static
ls -la /tmp/init/ /tmp/init/k0.5-static/ /tmp/init/k0.5-rw25/; ls /tmp/cache/data
# the facts continuation's flags (tools/train_default.sh, 2f), one more cosine of 480 steps
cont="--start-step 1760 --iters 2240 --eps-start 0.05 --eps-end 0.05 --lr-schedule cosine"
cont="$cont --learning-rate 1e-4 --predictor-lr 1.5e-3 --max-seconds $secs"
export LANES=3 DATA=/tmp/cache/data/facts-v1-seed0 INIT2=/tmp/init STAGES=2
EXTRA2="$cont --task-share 0.25" bash tools/device_lanes.sh start 0.5 rw25.t
EXTRA2="$cont" bash tools/device_lanes.sh start 0.5 rw25.c static.g
bash tools/device_lanes.sh poll "${POLL:-200}"
