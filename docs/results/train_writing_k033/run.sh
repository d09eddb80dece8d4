# The three writing sets for the keep-0.33 predictor (README.md here; written before it runs): the
# shipped keep-0.33 predictor + LoRA (rank 16) continued 360 steps (1,760 -> 2,120) on the facts
# corpus with all three writing sets, the recipe of ../train_writing3/ (rw25.w3), one lane.
# After tools/device_parts.sh (no .carry needed: the keep-0.33 weights stay in the checkout):
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; POLL=450 bash docs/results/train_writing_k033/run.sh 400
# then: bash tools/device_lanes.sh after docs/results/train_writing_k033/score.sh 400  # until "done"
set -u
secs=${1:?usage: bash docs/results/train_writing_k033/run.sh SECONDS}
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
tail -n 2 /tmp/setup.log 2>/dev/null
init=$PWD/mlx_ifp/weights/smollm2-135m-instruct-k0.33
[ -f "$init/ifp_config.json" ] || { echo "run.sh: no $init/ifp_config.json in this checkout" >&2; exit 2; }
. docs/results/train_writing3/corpora.sh  # the three writing sets' corpora; $prev the last
mkdir -p /tmp/init && ln -sfn "$init" /tmp/init/k0.33-rw25
cont="--start-step 1760 --iters 2120 --eps-start 0.05 --eps-end 0.05 --lr-schedule cosine"
cont="$cont --learning-rate 1e-4 --predictor-lr 1.5e-3 --max-seconds $secs"
export DATA=$prev INIT2=/tmp/init STAGES=2 EXTRA="--lora-rank 16" EXTRA2="$cont"
bash tools/device_lanes.sh start 0.33 rw25.w3
bash tools/device_lanes.sh poll "${POLL:-200}"
