# The anchor A/B (written in the twenty-seventh session, before it runs; README.md here): the
# shipped keep-0.5 recipe's stage 2 alone (rw25 with re-picks, from static-act, 2e-4), with
# and without `--anchor`, side by side on one H200, 4 x 8 rows, eager, float weights. After the
# tools/device_parts.sh calls, in the last call:
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; bash docs/results/train_anchor/run.sh SECONDS
# Later calls, issued in the same batch as that one:
#   bash tools/device_lanes.sh stop 0.5 2 250 rw25.a0 rw25.a1   # both kept at step 250
#   bash tools/device_lanes.sh after docs/results/train_anchor/score.sh   # until "done"
set -u
secs=${1:?usage: bash docs/results/train_anchor/run.sh SECONDS}
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
tail -n 2 /tmp/setup.log 2>/dev/null
common="--batch-size 4 --grad-accumulation 8 --val-every 50 --save-every 50 --max-seconds $secs"
for lane in "a0 0" "a1 ${ANCHOR:-1.0}"; do  # TAG ANCHOR-WEIGHT
  read -r tag w <<< "$lane"
  LANES=2 INIT2=none STAGES=2 EXTRA="--dequantize" EXTRA2="$common --anchor $w" \
    bash tools/device_lanes.sh start 0.5 "rw25.$tag"
done
bash tools/device_lanes.sh poll "${POLL:-300}"
