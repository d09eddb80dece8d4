# one arm of keep 0.5, the full recipe (device glue): bash .dvx/lane7.sh GPU ARM
set -u
export CUDA_VISIBLE_DEVICES=$1
A=$2; R=/tmp/runs/k0.5-$A
KEEPS=0.5 ARMS=$A bash tools/train_default.sh /tmp/runs
if grep -q "out of memory" $R/stage2.log 2>/dev/null; then  # compiled stage 2 ran out: eager
  mv $R/stage2.log $R/stage2-oom.log; rm -rf $R/stage2
  KEEPS=0.5 ARMS=$A STAGES=2 EXTRA2="--compile false" bash tools/train_default.sh /tmp/runs
fi
echo TRAINDONE
