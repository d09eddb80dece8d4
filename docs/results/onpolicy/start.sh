# The on-policy lane, then its control alone after it (two stage-2 lanes do not fit one H100):
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; POLL=540 bash docs/results/onpolicy/start.sh 700
# rw25.op (README.md here) starts now; rw25.e1 (../end_weight/start.sh's control) starts in the
# background once rw25.op's lane says TRAINDONE. Then `bash tools/device_lanes.sh poll 400` until
# both are done, and `bash tools/device_lanes.sh after docs/results/end_weight/score.sh`.
set -u
secs=${1:?usage: bash docs/results/onpolicy/start.sh SECONDS}
: > /tmp/lane_rw25.e1.log  # poll and after wait for the control too (start overwrites it)
touch /tmp/lane_rw25.e1.waiting  # (and a lane rerun alone after running out of memory skips it)
ARM=rw25.op POLL=0 bash docs/results/end_weight/start.sh "$secs"
(setsid nohup bash -c "until grep -qs TRAINDONE /tmp/lane_rw25.op.log; do sleep 5; done
  ARM=rw25.e1 POLL=0 bash docs/results/end_weight/start.sh $secs" > /tmp/e1_chain.log 2>&1 < /dev/null &)
bash tools/device_lanes.sh poll "${POLL:-400}"
