# Set 5 (README.md here; the rule written before the run): the shipped keep-0.5 default rw25.c4
# continued 360 steps (3,440 -> 3,800) on the facts corpus + the three writing sets + the chat
# forms + set 5, one lane, in the background (its control static.c5 is not trained in this
# session: two lanes ran out of an H100's memory in the forty-ninth). After tools/device_parts.sh
# and answer.sh (its replies in /tmp/chat5_answers on the machine, or answers/ here):
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; POLL=500 bash docs/results/train_chat5/start.sh 900
# then `bash tools/device_lanes.sh poll 500` calls until the lane says TRAINDONE, then
#   bash tools/device_lanes.sh after docs/results/train_chat5/score.sh   # until "done"
# ARM=static.c5 trains the control instead, from docs/results/train_chat4/staticc4 (then
# static.sh, not score.sh: the fifty-third session).
set -u
secs=${1:?usage: bash docs/results/train_chat5/start.sh SECONDS}
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1 MLX_ENABLE_TF32=0
tail -n 2 /tmp/setup.log 2>/dev/null
here() { if [ -f "$1/ifp_config.json" ]; then echo "$PWD/$1"; else echo "/tmp/carry/.carry/$(basename "$1")"; fi; }
shipped=$(here mlx_ifp/weights/smollm2-135m-instruct)
a5=docs/results/train_chat5/answers; [ -f "$a5/train.jsonl.gz" ] || a5=/tmp/chat5_answers  # ($ans: corpora.sh)
ls "$shipped" "$a5" || exit 2
. docs/results/train_writing3/corpora.sh  # the three writing sets' corpora; $prev the last
c4=/tmp/cache/data/chat4-writing3-facts-v1-seed0 c5=/tmp/cache/data/chat5-chat4-writing3-facts-v1-seed0
rm -rf "$c4" "$c5" /tmp/chat4_eval /tmp/chat5_eval
python3 tools/make_chat.py corpus --answers docs/results/train_chat4/answers --data "$prev" \
  --corpus "$c4" --eval /tmp/chat4_eval 2>&1 | tail -n 1
python3 tools/make_chat5.py corpus --answers "$a5" --data "$c4" \
  --corpus "$c5" --eval /tmp/chat5_eval 2>&1 | tail -n 1
mkdir -p /tmp/init /tmp/after/out
arm=${ARM:-rw25.c5}
case $arm in
  rw25.c5) ln -sfn "$shipped" /tmp/init/k0.5-rw25 ;;
  static.c5) ln -sfn "$(here docs/results/train_chat4/staticc4)" /tmp/init/k0.5-static ;;
  *) echo "start.sh: ARM is rw25.c5 or static.c5" >&2; exit 2 ;;
esac
ls /tmp/init/k0.5-*/ifp_config.json || exit 2
cont="--start-step 3440 --iters 3800 --eps-start 0.05 --eps-end 0.05 --lr-schedule cosine"
cont="$cont --learning-rate 1e-4 --predictor-lr 1.5e-3 --max-seconds $secs"
export LANES=1 DATA=$c5 INIT2=/tmp/init STAGES=2 EXTRA2="$cont"
bash tools/device_lanes.sh start 0.5 "$arm"
bash tools/device_lanes.sh poll "${POLL:-200}"
