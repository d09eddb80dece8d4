# Set 6 (README.md here; the rule written before any reply): the shipped keep-0.5 default rw25.c5
# continued 360 steps (3,800 -> 4,160) on the facts corpus + the three writing sets + sets 4, 5
# and 6 appended one after the other, one lane in the background. After tools/device_parts.sh
# and answer.sh (its replies in /tmp/chat6_answers on the machine, or answers/ here):
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; POLL=500 bash docs/results/train_chat6/start.sh 900
# then `bash tools/device_lanes.sh poll 500` calls until the lane says TRAINDONE, then
#   bash tools/device_lanes.sh after docs/results/train_chat6/score.sh   # until "done"
# ARM=static.c6 trains the control instead: ../train_chat5/staticc5 continued alike.
set -u
secs=${1:?usage: bash docs/results/train_chat6/start.sh SECONDS}
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1 MLX_ENABLE_TF32=0
tail -n 2 /tmp/setup.log 2>/dev/null
here() { if [ -f "$1/ifp_config.json" ]; then echo "$PWD/$1"; else echo "/tmp/carry/.carry/$(basename "$1")"; fi; }
shipped=$(here mlx_ifp/weights/smollm2-135m-instruct)
a5=docs/results/train_chat5/answers  # set 5's replies, in git ($ans is corpora.sh's own)
a6=docs/results/train_chat6/answers; [ -f "$a6/train.jsonl.gz" ] || a6=/tmp/chat6_answers
ls "$shipped" "$a5" "$a6" || exit 2
. docs/results/train_writing3/corpora.sh  # the three writing sets' corpora; $prev the last
d=/tmp/cache/data; c4=$d/chat4-writing3-facts-v1-seed0 c5=$d/chat5-chat4-writing3-facts-v1-seed0
c6=$d/chat6-chat5-chat4-writing3-facts-v1-seed0
rm -rf "$c4" "$c5" "$c6" /tmp/chat4_eval /tmp/chat5_eval /tmp/chat6_eval
python3 tools/make_chat.py corpus --answers docs/results/train_chat4/answers --data "$prev" \
  --corpus "$c4" --eval /tmp/chat4_eval 2>&1 | tail -n 1
python3 tools/make_chat5.py corpus --answers "$a5" --data "$c4" --corpus "$c5" \
  --eval /tmp/chat5_eval 2>&1 | tail -n 1
python3 tools/make_chat6.py corpus --answers "$a6" --data "$c5" --corpus "$c6" \
  --eval /tmp/chat6_eval 2>&1 | tail -n 1
ls "$c6/manifest.json" /tmp/chat6_eval/tasks.json || exit 2
mkdir -p /tmp/init /tmp/after/out
arm=${ARM:-rw25.c6}
case $arm in
  rw25.c6) ln -sfn "$shipped" /tmp/init/k0.5-rw25 ;;
  static.c6) ln -sfn "$(here docs/results/train_chat5/staticc5)" /tmp/init/k0.5-static ;;
  *) echo "start.sh: ARM is rw25.c6 or static.c6" >&2; exit 2 ;;
esac
ls /tmp/init/k0.5-*/ifp_config.json || exit 2
# set 5's continuation flags exactly, 360 steps on from the shipped 3,800
cont="--start-step 3800 --iters 4160 --eps-start 0.05 --eps-end 0.05 --lr-schedule cosine"
cont="$cont --learning-rate 1e-4 --predictor-lr 1.5e-3 --max-seconds $secs"
export LANES=1 DATA=$c6 INIT2=/tmp/init STAGES=2 EXTRA2="$cont"
bash tools/device_lanes.sh start 0.5 "$arm"
bash tools/device_lanes.sh poll "${POLL:-200}"
