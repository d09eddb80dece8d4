# SmolLM2's LoRA rate, the next GPU session's first run (written in the twenty-fifth session, before
# it ran): the shipped keep-0.5 recipe's stage 2 (rw25 with re-picks, and its learned static
# control), from static-act (no stage 1), at the LoRA rate that trained the 1.5B model smoothly
# (2.5e-5, 50 warm-up steps) and, side by side as the reference, at the shipped rate (2e-4, 20).
# Four lanes, 4 x 8 rows (the recipe's 32 rows a step in a quarter of the memory: three 1.5B lanes
# of ~38 GB each ran out of memory in the twenty-fifth session), eager, float weights. After
# the tools/device_parts.sh transfer calls (SmolLM2's GGUF, the default), in the last call:
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; bash docs/results/train_lr135/run.sh SECONDS
# Later calls:
#   bash tools/device_lanes.sh poll 420                                      # until all are done
#   bash tools/device_lanes.sh stop 0.5 2 STEP rw25.lo static.lo rw25.hi static.hi  # a common step
#   bash tools/device_lanes.sh after docs/results/train_lr135/score.sh
set -u
secs=${1:?usage: bash docs/results/train_lr135/run.sh SECONDS}
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
tail -n 2 /tmp/setup.log 2>/dev/null
# PAIRS: "TAG RATE WARMUP" per pair of lanes, ';' between (the twenty-seventh session's plan
# runs one pair: PAIRS="s2 2e-4 20", README.md "Next")
IFS=';' read -ra pairs <<< "${PAIRS:-lo 2.5e-5 50;hi 2e-4 20}"
for pair in "${pairs[@]}"; do
  read -r tag rate warm <<< "$pair"
  LANES=$((2 * ${#pairs[@]})) INIT2=none STAGES=2 EXTRA="--dequantize" \
    EXTRA2="--batch-size 4 --grad-accumulation 8 --val-every 50 --save-every 50 --max-seconds $secs --learning-rate $rate --warmup $warm" \
    bash tools/device_lanes.sh start 0.5 "rw25.$tag" "static.$tag"
done
bash tools/device_lanes.sh poll "${POLL:-360}"
