# The 1.5B static control's learning-rate sweep (the next GPU session's first step, written in
# the twenty-fourth after its control's LoRA diverged at 2e-4): three lanes of the control side by
# side, stage 2 from static-act as in run.sh, each its own LoRA rate with 50 warm-up steps, read
# on stage 2's validation split only. In the last transfer call:
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; bash docs/results/train_q15/sweep.sh SECONDS
# The rate: the lowest validation KL at the last step all three were validated at, among those
# that never warned of diverging (pick_rate.py, run at the end here); then the A/B with it:
#   pkill -f "stage2[.]yaml"; mv /tmp/runs /tmp/sweep_runs; rm -f /tmp/lane_*.log
#   r=$(python3 docs/results/train_q15/pick_rate.py /tmp/sweep_runs) && \
#     LR="--learning-rate $r --warmup 50" bash docs/results/train_q15/run.sh SECONDS
# (in the twenty-fourth session the blow-up came ~35 steps after a 20-step warm-up: a lane read
# before ~100 steps past its warm-up may just not have diverged yet, so give the sweep time)
set -u
secs=${1:?usage: bash docs/results/train_q15/sweep.sh SECONDS}
. docs/results/train_q15/recipe.sh  # run.sh's settings
for lr in ${RATES:-1e-4 5e-5 2.5e-5}; do
  LANES=$(wc -w <<< "${RATES:-1e-4 5e-5 2.5e-5}") \
    EXTRA2="$Q15_EXTRA2 --max-seconds $secs --learning-rate $lr --warmup 50" \
    bash tools/device_lanes.sh start 0.5 "static.lr$lr"
done
bash tools/device_lanes.sh poll "${POLL:-420}"
for f in /tmp/runs/k0.5-static.lr*/stage2.log; do
  echo "$f"; tr '\r' '\n' < "$f" | grep -a "val CE\|diverging"
done
echo "chosen: $(python3 docs/results/train_q15/pick_rate.py /tmp/runs)"
