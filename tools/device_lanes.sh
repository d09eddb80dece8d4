#!/usr/bin/env bash
# Training runs side by side on the one lent GPU, driven from short device calls (from the checkout there, with setup.sh's environment).
#   bash tools/device_lanes.sh start KEEP ARM [ARM ...]  # one background lane per arm: tools/train_default.sh, both stages
#   bash tools/device_lanes.sh poll [SECONDS]            # progress every 30 s until every lane is done; logs to $OUT/logs
#   bash tools/device_lanes.sh pack KEEP ARM [ARM ...]   # float16 packs (tools/pack_run.py) + stage-1 states to $OUT/pack
# Runs go to /tmp/runs/k<KEEP>-<ARM>. A compiled stage 2 that runs out of memory is rerun eager.
# train_default.sh's settings pass through the environment: STAGES, RESUME=1 (continue the
# checkpoints already in the runs' folders), INIT2 + EXTRA2="--start-step N" (continue packs).
# The device releases a machine idle for 30 s: keep one poll call running after another.
set -u
cd "$(dirname "$0")/.."
cmd=${1:-}; shift || true
case "$cmd" in
  start)
    keep=$1; shift
    for arm in "$@"; do
      r=/tmp/runs/k$keep-$arm
      (setsid nohup bash -c "
        KEEPS=$keep ARMS=$arm bash tools/train_default.sh /tmp/runs
        if grep -q 'out of memory' $r/stage2.log 2>/dev/null; then
          mv $r/stage2.log $r/stage2-oom.log; rm -rf $r/stage2
          KEEPS=$keep ARMS=$arm STAGES=2 EXTRA2=\"${EXTRA2:-} --compile false\" bash tools/train_default.sh /tmp/runs
        fi
        echo TRAINDONE" > /tmp/lane_$arm.log 2>&1 < /dev/null &)
      sleep 20  # staggered: both compile at once otherwise
    done ;;
  poll)
    limit=${1:-540}; t0=$(date +%s)
    while :; do
      for f in /tmp/runs/k*-*/stage*.log; do
        [ -f "$f" ] && echo "$f: $(tr '\r' '\n' < "$f" | grep -a 'step\|validation\|probe\|rror' | tail -n 1)"
      done
      nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
      [ "$(grep -ls TRAINDONE /tmp/lane_*.log | wc -l)" -ge "$(ls /tmp/lane_*.log | wc -l)" ] && break
      [ $(($(date +%s) - t0)) -ge "$limit" ] && break
      sleep 30
    done
    mkdir -p "$OUT/logs"
    for f in /tmp/runs/k*-*/stage*.log; do cp "$f" "$OUT/logs/$(basename "$(dirname "$f")")-$(basename "$f")"; done
    cp /tmp/lane_*.log "$OUT/logs/" ;;
  pack)
    keep=$1; shift
    python3 tools/pack_run.py $(for a in "$@"; do echo /tmp/runs/k$keep-$a/stage2; done) -o "$OUT/pack" --logs | tail -4
    for a in "$@"; do cp /tmp/runs/k$keep-$a/stage1/trainer_state.json "$OUT/pack/k$keep-$a-stage1.trainer_state.json"; done
    ls -la "$OUT/pack" ;;
  *) echo "usage: bash tools/device_lanes.sh start|poll|pack ... (see the head of this file)" >&2; exit 2 ;;
esac
