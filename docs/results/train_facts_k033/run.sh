# The keep-0.33 facts continuation (README.md here; written before it runs): the shipped keep-0.33
# predictor + LoRA (rank 16) continued 480 steps on the corpus with the facts, the keep-0.5
# default's `2f` recipe, one lane on one H200. After the tools/device_parts.sh calls, in the last:
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; bash docs/results/train_facts_k033/run.sh SECONDS
# Later calls, issued in the same batch as that one:
#   bash tools/device_lanes.sh poll 500
#   bash tools/device_lanes.sh after docs/results/train_facts_k033/score.sh   # until "done"
set -u
secs=${1:?usage: bash docs/results/train_facts_k033/run.sh SECONDS}
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
tail -n 2 /tmp/setup.log 2>/dev/null
init=$PWD/mlx_ifp/weights/smollm2-135m-instruct-k0.33
[ -f "$init/ifp_config.json" ] || { echo "run.sh: no $init/ifp_config.json in this checkout" >&2; exit 2; }
mkdir -p /tmp/init && ln -sfn "$init" /tmp/init/k0.33-rw25 && ls -la /tmp/init/k0.33-rw25/
ls /tmp/cache/data
cont="--start-step 1280 --iters 1760 --eps-start 0.05 --eps-end 0.05 --lr-schedule cosine"
DATA=/tmp/cache/data/facts-v1-seed0 INIT2=/tmp/init STAGES=2 EXTRA="--lora-rank 16" \
  EXTRA2="$cont --learning-rate 1e-4 --predictor-lr 1.5e-3 --max-seconds $secs" \
  bash tools/device_lanes.sh start 0.33 rw25.f
bash tools/device_lanes.sh poll "${POLL:-200}"
