# The facts continuation (README.md here; written before it runs): the shipped keep-0.5 default
# and its learned static control, each continued 480 steps on the corpus with the facts, side
# by side on one H200. After the tools/device_parts.sh calls, in the last call:
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; bash docs/results/train_facts/run.sh SECONDS
# Later calls, issued in the same batch as that one:
#   bash tools/device_lanes.sh poll 500
#   bash tools/device_lanes.sh after docs/results/train_facts/score.sh   # until "done"
set -u
secs=${1:?usage: bash docs/results/train_facts/run.sh SECONDS}
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
tail -n 2 /tmp/setup.log 2>/dev/null
mkdir -p /tmp/init
ln -sfn "$PWD/mlx_ifp/weights/smollm2-135m-instruct" /tmp/init/k0.5-rw25
# the static control: in the checkout, or carried by tools/device_parts.sh (under /tmp/carry)
st=$PWD/docs/results/train_long/k0.5-static/stage2
[ -f "$st/ifp_config.json" ] || st=$(find /tmp/carry -type d -path '*k0.5-static/stage2' | head -n 1)
ln -sfn "$st" /tmp/init/k0.5-static; ls -la /tmp/init/ /tmp/init/k0.5-static/
ls /tmp/cache/data
cont="--start-step 1280 --iters 1760 --eps-start 0.05 --eps-end 0.05 --lr-schedule cosine"
DATA=/tmp/cache/data/facts-v1-seed0 INIT2=/tmp/init STAGES=2 \
  EXTRA2="$cont --learning-rate 1e-4 --predictor-lr 1.5e-3 --max-seconds $secs" \
  bash tools/device_lanes.sh start 0.5 rw25.f static.f
bash tools/device_lanes.sh poll "${POLL:-200}"
