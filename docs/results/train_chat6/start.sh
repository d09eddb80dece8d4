# Set 6 (README.md here; the rule written before any reply): the shipped keep-0.5 default rw25.c5
# continued 360 steps (3,800 -> 4,160) on the facts corpus + the three writing sets + sets 4, 5
# and 6 appended one after the other, one lane in the background. After tools/device_parts.sh
# and answer.sh (its replies in /tmp/chat6_answers on the machine, or answers/ here):
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; POLL=500 bash docs/results/train_chat6/start.sh 900
# then `bash tools/device_lanes.sh poll 500` calls until the lane says TRAINDONE, then
#   bash tools/device_lanes.sh after docs/results/train_chat6/score.sh   # until "done"
# ARM=static.c6 trains the control instead: ../train_chat5/staticc5 continued alike.
# S=7 (../train_chat7/start.sh) does the same for set 7: the shipped rw25.c6 continued 4,160 ->
# 4,520 on the same chain with set 7 appended after set 6 (rw25.c7); ARM=static.c7 continues
# ../train_chat6/staticc6 alike, and refuses in one line while that folder is missing.
set -u
secs=${1:?usage: bash docs/results/train_chat6/start.sh SECONDS}
S=${S:-6}  # the set: 6 (as run in the fifty-fifth session) or 7
case $S in 6|7) ;; *) echo "start.sh: S is 6 or 7" >&2; exit 2 ;; esac
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1 MLX_ENABLE_TF32=0
tail -n 2 /tmp/setup.log 2>/dev/null
here() { if [ -f "$1/ifp_config.json" ]; then echo "$PWD/$1"; else echo "/tmp/carry/.carry/$(basename "$1")"; fi; }
shipped=$(here mlx_ifp/weights/smollm2-135m-instruct)
a5=docs/results/train_chat5/answers  # set 5's replies, in git ($ans is corpora.sh's own)
a6=docs/results/train_chat6/answers; [ -f "$a6/train.jsonl.gz" ] || a6=/tmp/chat6_answers
a7=docs/results/train_chat7/answers; [ -f "$a7/train.jsonl.gz" ] || a7=/tmp/chat7_answers
ls "$shipped" "$a5" "$a6" || exit 2
[ $S = 6 ] || ls "$a7" || exit 2
. docs/results/train_writing3/corpora.sh  # the three writing sets' corpora; $prev the last
d=/tmp/cache/data; c4=$d/chat4-writing3-facts-v1-seed0 c5=$d/chat5-chat4-writing3-facts-v1-seed0
c6=$d/chat6-chat5-chat4-writing3-facts-v1-seed0 c7=$d/chat7-chat6-chat5-chat4-writing3-facts-v1-seed0
rm -rf "$c4" "$c5" "$c6" /tmp/chat4_eval /tmp/chat5_eval /tmp/chat6_eval
[ $S = 6 ] || rm -rf "$c7" /tmp/chat7_eval
python3 tools/make_chat.py corpus --answers docs/results/train_chat4/answers --data "$prev" \
  --corpus "$c4" --eval /tmp/chat4_eval 2>&1 | tail -n 1
python3 tools/make_chat5.py corpus --answers "$a5" --data "$c4" --corpus "$c5" \
  --eval /tmp/chat5_eval 2>&1 | tail -n 1
python3 tools/make_chat6.py corpus --answers "$a6" --data "$c5" --corpus "$c6" \
  --eval /tmp/chat6_eval 2>&1 | tail -n 1
[ $S = 6 ] || python3 tools/make_chat7.py corpus --answers "$a7" --data "$c6" --corpus "$c7" \
  --eval /tmp/chat7_eval 2>&1 | tail -n 1
data=$c6; [ $S = 6 ] || data=$c7
ls "$data/manifest.json" /tmp/chat${S}_eval/tasks.json || exit 2
mkdir -p /tmp/init /tmp/after/out
arm=${ARM:-rw25.c$S}
control=$(here docs/results/train_chat$((S - 1))/staticc$((S - 1)))  # static.c5 or static.c6
case $arm in
  rw25.c$S) ln -sfn "$shipped" /tmp/init/k0.5-rw25 ;;
  static.c$S)
    [ -f "$control/ifp_config.json" ] || { echo "start.sh: no static.c$((S - 1)) to continue: $control is missing" >&2; exit 2; }
    ln -sfn "$control" /tmp/init/k0.5-static ;;
  *) echo "start.sh: ARM is rw25.c$S or static.c$S" >&2; exit 2 ;;
esac
ls /tmp/init/k0.5-*/ifp_config.json || exit 2
# set 5's continuation flags exactly, 360 steps on from the shipped default's step
from=$((3800 + 360 * (S - 6))); to=$((from + 360))  # 3,800 -> 4,160 (set 6), 4,160 -> 4,520 (7)
cont="--start-step $from --iters $to --eps-start 0.05 --eps-end 0.05 --lr-schedule cosine"
cont="$cont --learning-rate 1e-4 --predictor-lr 1.5e-3 --max-seconds $secs"
export LANES=1 DATA=$data INIT2=/tmp/init STAGES=2 EXTRA2="$cont"
bash tools/device_lanes.sh start 0.5 "$arm"
bash tools/device_lanes.sh poll "${POLL:-200}"
