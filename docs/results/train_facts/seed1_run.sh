# The facts continuation again with another data order (--seed 1), from the same start (the
# previous default rw25.long, carried as .runs30/k0.5-rw25 by tools/device_parts.sh), one lane
# (README.md here, "A second data order"). In the last of the tools/device_parts.sh calls:
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; bash docs/results/train_facts/seed1_run.sh SECONDS
# then `bash tools/device_lanes.sh poll 500` and
# `bash tools/device_lanes.sh after docs/results/train_facts/seed1_score.sh` in the same batch.
set -u
secs=${1:?usage: bash docs/results/train_facts/seed1_run.sh SECONDS}
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
tail -n 2 /tmp/setup.log 2>/dev/null
init=$(dirname "$(find /tmp/carry -name ifp_config.json -path '*k0.5-rw25/*' | head -n 1)")
[ -f "$init/ifp_config.json" ] || { echo "seed1_run.sh: rw25.long not carried" >&2; exit 2; }
mkdir -p /tmp/init && ln -sfn "$init" /tmp/init/k0.5-rw25 && ls -la /tmp/init/k0.5-rw25/
cont="--start-step 1280 --iters 1760 --eps-start 0.05 --eps-end 0.05 --lr-schedule cosine"
DATA=/tmp/cache/data/facts-v1-seed0 INIT2=/tmp/init STAGES=2 \
  EXTRA2="$cont --learning-rate 1e-4 --predictor-lr 1.5e-3 --seed 1 --max-seconds $secs" \
  bash tools/device_lanes.sh start 0.5 rw25.s1
bash tools/device_lanes.sh poll "${POLL:-200}"
