# Chat forms, both lanes (README.md here): the shipped default rw25.w3 and its learned static
# control static.w3, each continued 360 steps (3,080 -> 3,440) on the facts corpus + the three
# writing sets + the chat forms, side by side on one GPU, in the background. After
# tools/device_parts.sh .carry (the shipped weights and train_writing3/staticw3 copied into .carry/
# where the checkout is slimmed; probe5/corpus, the three writing sets' answers and corpora.sh
# kept in the checkout):
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; POLL=500 bash docs/results/train_chat4/start.sh 1200
# then `bash tools/device_lanes.sh poll 500` calls until both lanes say TRAINDONE, then
#   bash tools/device_lanes.sh after docs/results/train_chat4/score.sh   # until "done"
# (--max-seconds counts the first step's CUDA compile, 2 min 45 s in the forty-eighth session)
set -u
secs=${1:?usage: bash docs/results/train_chat4/start.sh SECONDS}
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1 MLX_ENABLE_TF32=0
tail -n 2 /tmp/setup.log 2>/dev/null
# read from .carry where the checkout was slimmed (the device copies the checkout on every call)
here() { if [ -f "$1/ifp_config.json" ]; then echo "$PWD/$1"; else echo "/tmp/carry/.carry/$(basename "$1")"; fi; }
shipped=$(here mlx_ifp/weights/smollm2-135m-instruct) control=$(here docs/results/train_writing3/staticw3)
ls "$shipped" "$control" || exit 2
. docs/results/train_writing3/corpora.sh  # the three writing sets' corpora; $prev the last
c4=/tmp/cache/data/chat4-writing3-facts-v1-seed0; rm -rf "$c4" /tmp/chat4_eval
python3 tools/make_chat.py corpus --answers docs/results/train_chat4/answers --data "$prev" \
  --corpus "$c4" --eval /tmp/chat4_eval 2>&1 | tail -n 1
mkdir -p /tmp/init /tmp/after/out
ln -sfn "$shipped" /tmp/init/k0.5-rw25
ln -sfn "$control" /tmp/init/k0.5-static
cont="--start-step 3080 --iters 3440 --eps-start 0.05 --eps-end 0.05 --lr-schedule cosine"
cont="$cont --learning-rate 1e-4 --predictor-lr 1.5e-3 --max-seconds $secs"
export LANES=2 DATA=$c4 INIT2=/tmp/init STAGES=2 EXTRA2="$cont"
bash tools/device_lanes.sh start 0.5 rw25.c4 static.c4
bash tools/device_lanes.sh poll "${POLL:-200}"
