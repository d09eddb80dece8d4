#!/usr/bin/env bash
# The keep-0.33 learned static control through the shipped keep-0.33 predictor's whole history
# (README.md here: the segments, the slices, the transfers). On the GPU machine, from the
# checkout's root, after the tools/device_parts.sh calls (carrying .carry/ when it holds packs or
# checkpoints of an earlier slice), in the last of them:
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; CUT=400 POLL=420 bash docs/results/train_static_k033/slice.sh start a
# then, each issued at once after the one before (the machine goes 30 s after a call ends):
#   bash tools/device_lanes.sh poll 540                      # until the lane says TRAINDONE
#   bash docs/results/train_static_k033/slice.sh back        # packs, trainer states, logs -> $OUT
#   bash tools/device_lanes.sh state 0.33 2 static 400       # only after a cut (CUT): the checkpoint
#
#   slice.sh start LAST   runs, in the background, every segment not yet done up to LAST, in order:
#     a  stage 1 (0 -> 820) and stage 2 (0 -> 640) of arm `static`, then the float16 pack p640
#     c  stage 2 640 -> 1280 from p640 (arm static.c), then p1280
#     f  1280 -> 1760 from p1280 on the facts corpus (arm static.f), then p1760
#     w  1760 -> 2070 of a 2120-step schedule from p1760 on the writing corpus (static.w3), then p2070
#   It starts after the last segment whose pack is here (/tmp/packs/pNNN) or carried
#   (/tmp/carry/.carry/pNNN: carry only the latest pack);
#   a carried checkpoint (/tmp/carry/.carry/k0.33-ARM/stage1 or stage2, from `device_lanes.sh
#   state`) is resumed exactly (finetune --resume). CUT=STEP (a multiple of 100; for w of 90) ends LAST's
#   stage 2 at that checkpoint (kept as /tmp/runs/k0.33-ARM/stage2-STEP) instead of its end.
#   slice.sh back        copies /tmp/packs/*.tar not sent yet, each trainer_state.json and the logs
set -u
cd "$(dirname "$0")/../../.."
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
# the predictor's keep-0.33 runs (sessions 14-44) left MLX's CUDA default, TF32 float32 matmuls,
# on (MLX_ENABLE_TF32 unset; the tests and the later score.sh files set it to 0): so here too
unset MLX_ENABLE_TF32
K=0.33 D=/tmp/cache/data runs=/tmp/runs packs=/tmp/packs carry=/tmp/carry/.carry
COS="--eps-start 0.05 --eps-end 0.05 --lr-schedule cosine"
HALF="--learning-rate 1e-4 --predictor-lr 1.5e-3"  # the facts and writing continuations' rates
declare -A ARM=([a]=static [c]=static.c [f]=static.f [w]=static.w3)
declare -A END=([a]=640 [c]=1280 [f]=1760 [w]=2070)
declare -A FROM=([c]=p640 [f]=p1280 [w]=p1760)
declare -A CONT=(  # EXTRA2, as the predictor's continuations ran (README.md, the history table)
  [c]="--start-step 640 --iters 1280 $COS"
  [f]="--start-step 1280 --iters 1760 $COS $HALF"
  [w]="--start-step 1760 --iters 2120 $COS $HALF --save-every 90"  # 2070 = 23 x 90: a checkpoint
)
say() { echo "[$(date +%T)] $*" | tee -a /tmp/static_k033.log; }
step_of() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['step'])" "$1/trainer_state.json" 2>/dev/null || echo 0; }
pack_dir() { local p; for p in "$packs/$1" "$carry/$1"; do [ -d "$p" ] && { ls -d "$p"/stage2* | head -n 1; return; }; done; }
rows() { wc -l < "$1/sft/train.jsonl"; }
corpus() {  # the segment's corpus, checked by its SFT row count (README.md)
  case $1 in
    a | c) ls -d "$D"/v1-seed0-* | head -n 1 ;;
    f) echo "$D/facts-v1-seed0" ;;
    w) [ -f "$D/writing3-facts-v1-seed0/sft/train.jsonl" ] || . docs/results/train_writing3/corpora.sh >&2
       echo "$D/writing3-facts-v1-seed0" ;;
  esac
}
declare -A ROWS=([a]=6166 [c]=6166 [f]=7166 [w]=9919)
pack() {  # pack SEG RUN: float16, as the predictor's packs between its continuations
  local name=p${END[$1]} run=$2
  rm -rf "$packs/.$name" "$packs/$name"; mkdir -p "$packs/.$name"
  python3 tools/pack_run.py "$run" -o "$packs/.$name" || return 1
  mv "$packs/.$name/$(basename "$run").tar" "$packs/$name.tar" && mkdir -p "$packs/$name" \
    && tar xf "$packs/$name.tar" -C "$packs/$name" && rm -rf "$packs/.$name" && say "packed $name ($run)"
}
segment() {  # segment SEG CUT: one segment, fresh or resumed; 0 when it reached its end (or the cut)
  local s=$1 cut=$2 arm=${ARM[$1]} r data init="" stages=2 end=${END[$1]} stop=""
  r=$runs/k$K-$arm
  data=$(corpus "$s"); [ "$(rows "$data")" = "${ROWS[$s]}" ] \
    || { say "segment $s: $data has $(rows "$data") SFT rows, not ${ROWS[$s]}: stopped"; return 1; }
  if [ "$s" != a ]; then
    init=$(pack_dir "${FROM[$s]}"); [ -n "$init" ] || { say "segment $s: no ${FROM[$s]} here or carried"; return 1; }
    mkdir -p "/tmp/init_$s"; ln -sfn "$init" "/tmp/init_$s/k$K-static"; init=/tmp/init_$s
  else
    stages="1 2"
  fi
  mkdir -p "$r"
  for st in stage1 stage2; do  # a checkpoint an earlier slice brought back: resumed exactly
    [ -f "$carry/k$K-$arm/$st/trainer_state.json" ] && [ ! -d "$r/$st" ] && cp -r "$carry/k$K-$arm/$st" "$r/$st"
  done
  [ "$s" = w ] && stop=2070
  [ "$cut" -gt 0 ] && stop=$cut
  say "segment $s ($arm): data $data, init ${init:-none}, stop ${stop:-at its end}"
  (
    if [ -f "$r/stage2/trainer_state.json" ]; then  # resumed with its own saved settings
      python -m mlx_ifp finetune --resume "$r/stage2" >> "$r/stage2-resumed.log" 2>&1
    else
      if [ -f "$r/stage1/trainer_state.json" ] && [ "$(step_of "$r/stage1")" -lt 820 ]; then
        python -m mlx_ifp finetune --resume "$r/stage1" >> "$r/stage1-resumed.log" 2>&1 || exit 1
      fi
      [ -f "$r/stage1/trainer_state.json" ] && [ "$s" = a ] && stages=2
      DATA=$data INIT2=$init STAGES=$stages EXTRA="--lora-rank 16" EXTRA2="${CONT[$s]:-}" \
        KEEPS=$K ARMS=$arm bash tools/train_default.sh $runs
    fi
  ) &
  local pid=$!
  if [ -n "$stop" ]; then  # the checkpoint at STEP kept as stage2-STEP, the lane ended there
    while [ ! -d "$r/stage2-$stop" ] && kill -0 $pid 2>/dev/null; do
      bash tools/device_lanes.sh stop $K 2 "$stop" "$arm"
    done  # (its pkill finds a lane by its YAML; a resumed run has none on its command line)
    [ -d "$r/stage2-$stop" ] && pkill -f -- "finetune --resume $r/stage2\$"
  fi
  wait $pid
  local at
  if [ -n "$stop" ]; then at=$(step_of "$r/stage2-$stop"); else at=$(step_of "$r/stage2"); fi
  say "segment $s: at step $at"
  if [ -z "$stop" ] || [ "$stop" = "$end" ]; then
    [ "$at" = "$end" ] || { say "segment $s: step $at, not $end: stopped"; return 1; }
    if [ -n "$stop" ]; then pack "$s" "$r/stage2-$stop" || return 1; else pack "$s" "$r/stage2" || return 1; fi
  else
    [ "$at" = "$stop" ] || { say "segment $s: step $at, not the cut $stop: stopped"; return 1; }
    say "segment $s: cut at $stop: bring it back with tools/device_lanes.sh state $K 2 $arm $stop"
    return 2
  fi
}
chain() {  # chain LAST: the segments after the last one done (its pack here or carried), up to LAST
  local order=(a c f w) first=0 i s cut
  for i in 0 1 2 3; do [ -z "$(pack_dir "p${END[${order[$i]}]}")" ] || first=$((i + 1)); done
  [ "$first" = 0 ] || say "segments up to ${order[$((first - 1))]} done (p${END[${order[$((first - 1))]}]} here or carried)"
  for ((i = first; i < 4; i++)); do
    s=${order[$i]} cut=0
    [ "$s" = "$1" ] && cut=${CUT:-0}
    segment "$s" "$cut" || break
    [ "$s" = "$1" ] && break
  done
  echo TRAINDONE >> /tmp/lane_static.log
}
case "${1:-}" in
  start)
    last=${2:?usage: slice.sh start a|c|f|w}; [ -n "${END[$last]:-}" ] || { echo "slice.sh: no segment $last" >&2; exit 2; }
    every=100; [ "$last" = w ] && every=90  # CUT: a step with a checkpoint, before the end
    if [ -n "${CUT:-}" ] && { [ $((CUT % every)) != 0 ] || [ "$CUT" -ge "${END[$last]}" ]; }; then
      echo "slice.sh: CUT must be a multiple of $every below ${END[$last]}" >&2; exit 2
    fi
    tail -n 2 /tmp/setup.log 2>/dev/null
    ls "$carry" 2>/dev/null
    mkdir -p "$runs" "$packs"; rm -f /tmp/lane_static.log; touch /tmp/lane_static.log
    (setsid nohup bash "$0" chain "$last" > /tmp/static_k033.chain.log 2>&1 < /dev/null &)
    sleep 5; bash tools/device_lanes.sh poll "${POLL:-420}" ;;
  chain) chain "$2" ;;
  back)
    mkdir -p "$OUT/logs" /tmp/packs_sent; n=0
    for t in "$packs"/p*.tar; do  # each about 10 MB (rank-16 LoRA in float16): one file each
      [ -f "$t" ] && [ ! -f "/tmp/packs_sent/$(basename "$t")" ] && [ $n -lt 4 ] || continue
      cp "$t" "$OUT/" && touch "/tmp/packs_sent/$(basename "$t")" && n=$((n + 1))
    done
    (cd "$OUT" && sha256sum p*.tar > packs.sha256 2>/dev/null)
    tar czf "$OUT/logs/states.tgz" $(ls $runs/k*/stage*/trainer_state.json $runs/k*/stage*.log $runs/k*/stage*.yaml \
      /tmp/static_k033*.log /tmp/lane_static.log 2>/dev/null)
    ls -la "$OUT" "$packs" ;;
  *) echo "usage: bash docs/results/train_static_k033/slice.sh start a|c|f|w | back (see its head)" >&2; exit 2 ;;
esac
