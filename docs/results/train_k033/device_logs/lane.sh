# one arm of one keep, the full recipe, sharing the GPU (device glue): bash .dvm3/lane.sh KEEP ARM
set -u
K=$1; A=$2; R=/tmp/runs/k$K-$A
KEEPS=$K ARMS=$A bash tools/train_default.sh /tmp/runs
if grep -q "out of memory" $R/stage2.log 2>/dev/null; then  # compiled stage 2 ran out: eager
  mv $R/stage2.log $R/stage2-oom.log; rm -rf $R/stage2
  KEEPS=$K ARMS=$A STAGES=2 EXTRA2="--compile false" bash tools/train_default.sh /tmp/runs
fi
echo TRAINDONE
