#!/usr/bin/env bash
# Training runs side by side on the one lent GPU, driven from short device calls (from the checkout there, with setup.sh's environment).
#   bash tools/device_lanes.sh start KEEP ARM [ARM ...]  # one background lane per arm: tools/train_default.sh, both stages
#   bash tools/device_lanes.sh poll [SECONDS]            # progress every 30 s until every lane is done; logs to $OUT/logs
#   bash tools/device_lanes.sh pack KEEP ARM [ARM ...]   # float16 packs (tools/pack_run.py) + stage-1 states to $OUT/pack
#        (of stage 2; PACK_STAGE=stage2c packs the continued stage 2)
#        (a tar over 15 MiB, e.g. a rank-32 LoRA, comes back as X.tar.part.N: `cat X.tar.part.* > X.tar`)
#   bash tools/device_lanes.sh after SCRIPT [SECONDS]   # when every lane is done, SCRIPT (in the
#        checkout) once, in the background; it writes each result whole under /tmp/after/out
#        (then renamed). Brings back each finished file once (at most 7 a call) and the logs
#        as logs.tgz, while SCRIPT runs too; call again until it says "done" and none is left
#        (files are copied at every poll: a call killed at its limit keeps what was sent; keep
#        SECONDS below the call's limit, which the session's device time left may cut short)
#   bash tools/device_lanes.sh stop KEEP STAGE STEP ARM [ARM ...]  # end each lane at its STEP checkpoint
#   bash tools/device_lanes.sh state KEEP STAGE ARM [STEP]  # a whole checkpoint (float32 + optimizer)
#        in 15 MiB pieces to $OUT/<ARM>-stage<STAGE> (one arm per call: $OUT takes 64 MiB); here
#        `cat part.* | tar xf - -C DIR` gives DIR/stage<STAGE>, which --resume continues exactly
# Runs go to /tmp/runs/k<KEEP>-<ARM>. A stage 2 that runs out of memory is rerun alone once the
# other lanes end (the forty-ninth session: rw25 + static lanes filled an H100's 80 GB) and any
# `after` script (AFTER_DIR, /tmp/after: the fifty-sixth session's scoring job and lane), then eager;
# from stage 2 on (STAGES less 1), and lanes out of memory together take turns (LANES_DIR: their logs).
# train_default.sh's settings pass through the environment: STAGES, RESUME=1 (continue the
# checkpoints already in the runs' folders), INIT2 + EXTRA2="--start-step N" (continue packs).
# The device releases a machine idle for 30 s: prepare each next call (poll, pack) before a long
# one and issue it right after, in the same batch (a gap lost both lanes at step ~1010 of 1280 in
# the twentieth session: docs/results/train_k033_long/).
# $OUT brings back at most 8 files a call: run `pack` in a call of its own (poll copies the logs).
# Keep follow-up scripts in the checkout: an ignored folder not carried by a call is gone there
# (the twenty-first session's follow-up lost its script that way, then the machine).
set -u
if [[ ${1:-} == -h || ${1:-} == --help ]]; then  # the usage and the head of this file; nothing run
  echo "usage: bash tools/device_lanes.sh start|poll|after|pack|stop|state ..."; sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0
fi
cd "$(dirname "$0")/.."
lanes=${LANES_DIR:-/tmp}  # each lane's log (tests: another folder)
after_dir=${AFTER_DIR:-/tmp/after}  # `after`'s state (started, rc): a scoring script on the GPU
running() { [ -f "$after_dir/started" ] && [ ! -f "$after_dir/rc" ]; }  # (tests: another folder)
cmd=${1:-}; shift || true
case "$cmd" in
  start)
    keep=$1; shift
    # a lane beside a scoring script fills the GPU: the fifty-sixth session's set-7 lane ran out
    # of memory at its first step three times beside static.sh's evals, which died too
    running && echo "start: $(cat "$after_dir/started") is still running here: the lane shares the GPU with it (its out-of-memory rerun waits for it)" >&2
    # each lane gets MLX's memory limit at its share of the GPU: MLX sets the limit of each
    # process to most of the device and caches freed buffers up to it (the likely cause of the
    # second 1.5B try's out-of-memory, docs/results/train_q15/)
    # (a --memory-limit in EXTRA comes later and wins; LANES=N: the share of N lanes, for lanes
    # started by several `start` calls, e.g. one per learning rate, each with its own EXTRA2)
    mib=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits 2>/dev/null | head -n 1)
    if [ -n "$mib" ] && [ "${LANES:-$#}" -gt 0 ]; then  # (no arm: no lane to share it)
      export EXTRA="--memory-limit $(python3 -c "print(round($mib * 2**20 * 0.9 / 1e9 / ${LANES:-$#}, 1))") ${EXTRA:-}"
    fi
    # an out-of-memory stage 2 is rerun from stage 2 on (stage 1 done), not from the start
    later=$(for s in ${STAGES:-1 2 2c 2f}; do [ "$s" = 1 ] || printf '%s ' "$s"; done)
    for arm in "$@"; do
      r=/tmp/runs/k$keep-$arm
      rm -f "$lanes/lane_$arm.waiting"
      (setsid nohup bash -c "
        KEEPS=$keep ARMS=$arm bash tools/train_default.sh /tmp/runs
        if grep -q 'out of memory' $r/stage2.log 2>/dev/null; then  # first alone, once the other lanes end
          mv $r/stage2.log $r/stage2-oom.log; rm -rf $r/stage2
          bash tools/device_lanes.sh wait-others $arm  # (lanes waiting too: one at a time, by flock)
          flock $lanes/lanes_alone.lock env KEEPS=$keep ARMS=$arm STAGES='$later' bash tools/train_default.sh /tmp/runs
        fi
        if grep -q 'out of memory' $r/stage2.log 2>/dev/null; then
          mv $r/stage2.log $r/stage2-oom2.log; rm -rf $r/stage2
          KEEPS=$keep ARMS=$arm STAGES='$later' EXTRA2=\"${EXTRA2:-} --compile false\" bash tools/train_default.sh /tmp/runs
        fi
        echo TRAINDONE" > $lanes/lane_$arm.log 2>&1 < /dev/null &)
      sleep 20  # staggered: both compile at once otherwise
    done ;;
  poll)
    limit=${1:-540}; t0=$(date +%s)
    while :; do
      for f in /tmp/runs/k*-*/stage*.log; do
        [ -f "$f" ] && echo "$f: $(tr '\r' '\n' < "$f" | grep -a 'step\|validation\|probe\|rror' | tail -n 1)"
      done
      nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
      [ "$(grep -ls TRAINDONE $lanes/lane_*.log | wc -l)" -ge "$(ls $lanes/lane_*.log | wc -l)" ] && break
      [ $(($(date +%s) - t0)) -ge "$limit" ] && break
      sleep 30
    done
    mkdir -p "$OUT/logs"
    for f in /tmp/runs/k*-*/stage*.log; do cp "$f" "$OUT/logs/$(basename "$(dirname "$f")")-$(basename "$f")"; done
    cp $lanes/lane_*.log "$OUT/logs/" ;;
  pack)
    keep=$1; shift
    # a call of its own has none of setup.sh's environment (the thirty-fifth session's first pack)
    [ -d /tmp/site ] && export PYTHONPATH=${PYTHONPATH:-/tmp/site:$PWD} MLX_IFP_CACHE=${MLX_IFP_CACHE:-/tmp/cache}
    st=${PACK_STAGE:-stage2}  # stage2c: the continued stage 2 (tools/train_default.sh)
    python3 tools/pack_run.py $(for a in "$@"; do echo /tmp/runs/k$keep-$a/$st; done) -o "$OUT/pack" --logs | tail -4
    for a in "$@"; do f=/tmp/runs/k$keep-$a/stage1/trainer_state.json; [ ! -f "$f" ] || cp "$f" "$OUT/pack/k$keep-$a-stage1.trainer_state.json"; done  # none: stage 2 from scratch
    for t in "$OUT"/pack/*.tar; do  # a file comes back only under 16 MiB: `cat X.tar.part.* > X.tar`
      [ "$(stat -c %s "$t")" -le 15728640 ] || { split -b 15m -d -a 1 "$t" "$t.part."; rm "$t"; }
    done
    (cd "$OUT/pack" && sha256sum ./* > ../pack.sha256; ls -la) ;;
  after)
    script=${1:?usage: bash tools/device_lanes.sh after SCRIPT [SECONDS]} limit=${2:-540} t0=$(date +%s)
    [ -f "$script" ] || { echo "after: no $script here (keep it in the checkout)" >&2; exit 2; }
    ls $lanes/lane_*.log > /dev/null 2>&1 || { echo "after: no lanes on this machine (released?)" >&2; exit 2; }
    mkdir -p /tmp/after/sent /tmp/after/out
    if [ -f /tmp/after/started ] && [ "$(cat /tmp/after/started)" != "$script" ]; then
      echo "after: $(cat /tmp/after/started) ran here before: rm -rf /tmp/after to start $script" >&2; exit 2
    fi
    # the script's finished files (it writes each whole, then renames; dot-names are its work),
    # sent once each, at most 7 files and 56 MiB a call, each under 16 MiB; copied into $OUT at
    # every poll, so a call killed at its limit (the session's device time running out) still
    # brings back what was done (the thirty-second session lost its scores and packs: its call ran out of device time)
    n=0 room=$((56 * 1048576)) left=0
    send() {
      left=0
      while IFS= read -r f; do
        key=$(echo "${f#/tmp/after/out/}" | tr / _); [ -f "/tmp/after/sent/$key" ] && continue
        size=$(stat -c %s "$f")
        if [ "$size" -gt 16777215 ]; then echo "after: $f is over 16 MiB: split it in the script" >&2; continue; fi
        if [ $n -ge 7 ] || [ "$size" -gt "$room" ]; then left=$((left + 1)); continue; fi
        cp "$f" "$OUT/$key" && touch "/tmp/after/sent/$key" && n=$((n + 1)) room=$((room - size))
      done < <(find /tmp/after/out -type f -not -name '.*' -not -path '*/.*' | sort)
      tar czf "$OUT/logs.tgz" /tmp/runs/k*-*/stage*.log $lanes/lane_*.log /tmp/after/*.log 2>/dev/null
    }
    while :; do
      ended=$(grep -ls TRAINDONE $lanes/lane_*.log | wc -l)
      if [ "$ended" -ge "$(ls $lanes/lane_*.log | wc -l)" ] && [ ! -f /tmp/after/started ]; then
        echo "$script" > /tmp/after/started; echo "after: lanes done, $script started"
        (setsid nohup bash -c 'bash "$1"; echo $? > /tmp/after/rc' _ "$script" > /tmp/after/script.log 2>&1 < /dev/null &)
      fi
      send
      [ -f /tmp/after/rc ] && { echo "after: $script done (exit $(cat /tmp/after/rc))"; break; }
      [ $(($(date +%s) - t0)) -ge "$limit" ] && { echo "after: $ended lane(s) done, script $([ -f /tmp/after/started ] && echo running || echo 'not started')"; break; }
      sleep 15
    done
    send
    [ "$left" -eq 0 ] || echo "after: $left file(s) left: call again"
    ls -la "$OUT" ;;
  stop)  # a lane's checkpoints overwrite each other: keep the one at STEP, then end the lane
    keep=$1 s=$2 at=$3; shift 3; t0=$(date +%s)
    step() { python3 -c "import json; print(json.load(open('$1/trainer_state.json'))['step'])" 2>/dev/null || echo 0; }
    while :; do
      left=0
      for a in "$@"; do
        r=/tmp/runs/k$keep-$a
        [ -d "$r/stage$s-$at" ] && continue
        if [ "$(step "$r/stage$s")" -ge "$at" ]; then
          pkill -f "k$keep-$a/stage$s.yaml"; sleep 3; cp -r "$r/stage$s" "$r/stage$s-$at"
          echo "$a: kept $r/stage$s-$at (step $(step "$r/stage$s-$at"))"
        else left=1; fi
      done
      [ "$left" = 0 ] && break
      [ $(($(date +%s) - t0)) -ge 500 ] && { echo "not yet at step $at: call stop again"; break; }
      sleep 4
    done ;;
  state)
    keep=$1 s=$2 a=$3 d="$OUT/$a-stage$2"; mkdir -p "$d"
    r=/tmp/runs/k$keep-$a; src=stage$s${4:+-$4}  # the copy stop kept, if STEP is given
    tar cf - -C "$r" --transform "s#^$src#stage$s#" "$src" | split -b 15m -d -a 1 - "$d/part."
    (cd "$d" && sha256sum part.* > sha256 && ls -la) ;;
  wait-others)  # (used by start) until every lane but ARM's has said TRAINDONE or waits too,
    touch "$lanes/lane_$1.waiting"  # (two lanes out of memory: each waited on the other)
    while :; do  # and no `after` script is running (it is not a lane, but fills the GPU too)
      busy=0
      running && busy=1
      for f in "$lanes"/lane_*.log; do
        a=${f#"$lanes"/lane_}; a=${a%.log}
        [ "$a" = "$1" ] || [ -e "$lanes/lane_$a.waiting" ] || grep -q TRAINDONE "$f" || busy=1
      done
      [ "$busy" = 0 ] && break
      sleep 10
    done ;;
  *) echo "usage: bash tools/device_lanes.sh start|poll|after|pack|stop|state ... (see the head of this file)" >&2; exit 2 ;;
esac
