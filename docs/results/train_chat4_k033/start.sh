# Chat forms for the keep-0.33 predictor (README.md here; written before it runs): the shipped
# keep-0.33 predictor + LoRA (rank 16) continued 360 steps (2,070 -> 2,430) on the facts corpus
# + the three writing sets + the chat forms (rw25.c4's corpus), one lane, in the background.
# After tools/device_parts.sh .carry (the checkout slimmed as in ../train_chat4/README.md; the
# keep-0.33 weights in .carry/ or in the checkout):
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; POLL=500 bash docs/results/train_chat4_k033/start.sh 480
# then `bash tools/device_lanes.sh poll 500` calls until the lane says TRAINDONE, then
#   bash tools/device_lanes.sh after docs/results/train_chat4_k033/score.sh   # until "done"
set -u
secs=${1:?usage: bash docs/results/train_chat4_k033/start.sh SECONDS}
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1 MLX_ENABLE_TF32=0
tail -n 2 /tmp/setup.log 2>/dev/null
here() { if [ -f "$1/ifp_config.json" ]; then echo "$PWD/$1"; else echo "/tmp/carry/.carry/$(basename "$1")"; fi; }
shipped=$(here mlx_ifp/weights/smollm2-135m-instruct-k0.33)
ls "$shipped" || exit 2
. docs/results/train_writing3/corpora.sh  # the three writing sets' corpora; $prev the last
c4=/tmp/cache/data/chat4-writing3-facts-v1-seed0; rm -rf "$c4" /tmp/chat4_eval
python3 tools/make_chat.py corpus --answers docs/results/train_chat4/answers --data "$prev" \
  --corpus "$c4" --eval /tmp/chat4_eval 2>&1 | tail -n 1
mkdir -p /tmp/init /tmp/after/out
ln -sfn "$shipped" /tmp/init/k0.33-rw25
cont="--start-step 2070 --iters 2430 --eps-start 0.05 --eps-end 0.05 --lr-schedule cosine"
cont="$cont --learning-rate 1e-4 --predictor-lr 1.5e-3 --max-seconds $secs"
export LANES=1 DATA=$c4 INIT2=/tmp/init STAGES=2 EXTRA="--lora-rank 16" EXTRA2="$cont"
bash tools/device_lanes.sh start 0.33 rw25.c4
bash tools/device_lanes.sh poll "${POLL:-200}"
