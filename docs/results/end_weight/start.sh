# The end-weight lane (README.md here; the rule written before the run): the shipped rw25.c6
# continued 360 steps (4,160 -> 4,520) with --end-weight 4 on set 6's corpus chain, one lane in
# the background; ARM=rw25.e1 the control (end_weight 1), LANES=2 when both share the GPU.
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; POLL=400 bash docs/results/end_weight/start.sh 700
set -u
secs=${1:?usage: bash docs/results/end_weight/start.sh SECONDS}
arm=${ARM:-rw25.e4}
# ARM=rw25.op (../onpolicy/README.md): end_weight 1 on the chain with the pruned default's own
# replies appended (../onpolicy/answers_c6, source chat6p); rw25.e1 is its control too
case $arm in rw25.e4) w=4 ;; rw25.e1|rw25.op) w=1 ;; *) echo "start.sh: ARM is rw25.e4, rw25.e1 or rw25.op" >&2; exit 2 ;; esac
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1 MLX_ENABLE_TF32=0
tail -n 2 /tmp/setup.log 2>/dev/null
shipped=$PWD/mlx_ifp/weights/smollm2-135m-instruct
d=/tmp/cache/data c6=/tmp/cache/data/chat6-chat5-chat4-writing3-facts-v1-seed0
if [ ! -f "$c6/manifest.json" ]; then  # set 6's chain, as ../train_chat6/start.sh builds it
  a6=docs/results/train_chat6/answers; [ -f "$a6/train.jsonl.gz" ] || a6=/tmp/chat6_answers
  . docs/results/train_writing3/corpora.sh  # the three writing sets' corpora; $prev the last
  c4=$d/chat4-writing3-facts-v1-seed0 c5=$d/chat5-chat4-writing3-facts-v1-seed0
  rm -rf "$c4" "$c5" "$c6" /tmp/chat4_eval /tmp/chat5_eval /tmp/chat6_eval
  python3 tools/make_chat.py corpus --answers docs/results/train_chat4/answers --data "$prev" \
    --corpus "$c4" --eval /tmp/chat4_eval 2>&1 | tail -n 1
  python3 tools/make_chat5.py corpus --answers docs/results/train_chat5/answers --data "$c4" \
    --corpus "$c5" --eval /tmp/chat5_eval 2>&1 | tail -n 1
  python3 tools/make_chat6.py corpus --answers "$a6" --data "$c5" --corpus "$c6" \
    --eval /tmp/chat6_eval 2>&1 | tail -n 1
fi
ls "$c6/manifest.json" "$shipped/ifp_config.json" || exit 2
data=$c6
if [ "$arm" = rw25.op ]; then  # set 6's chain + the on-policy replies, under their own label
  op=docs/results/onpolicy/answers_c6 data=$d/chat6p-chat6-chat5-chat4-writing3-facts-v1-seed0
  ls "$op/train.jsonl.gz" || exit 2
  rm -rf "$data" /tmp/chat6p_eval /tmp/op4 && mkdir -p /tmp/op4  # each reply 4 times (the plan)
  for i in 1 2 3 4; do gzip -dc "$op/train.jsonl.gz"; done | gzip > /tmp/op4/train.jsonl.gz
  cp "$op/valid.jsonl.gz" /tmp/op4/
  python3 tools/make_chat6.py corpus --answers /tmp/op4 --data "$c6" --corpus "$data" \
    --eval /tmp/chat6p_eval --source chat6p 2>&1 | tail -n 1
fi
mkdir -p /tmp/init_ew && ln -sfn "$shipped" /tmp/init_ew/k0.5-rw25
cont="--start-step 4160 --iters 4520 --eps-start 0.05 --eps-end 0.05 --lr-schedule cosine"
cont="$cont --learning-rate 1e-4 --predictor-lr 1.5e-3 --max-seconds $secs --end-weight $w"
export DATA=$data INIT2=/tmp/init_ew STAGES=2 EXTRA2="$cont"
bash tools/device_lanes.sh start 0.5 "$arm"
bash tools/device_lanes.sh poll "${POLL:-200}"
