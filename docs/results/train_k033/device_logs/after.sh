# after both lanes (device glue): bash .dvm3/after.sh KEEP ARMS...: pack the runs (float16), stage-1 states, logs into $OUT
set -u
K=$1; shift
python3 tools/pack_run.py $(for a in "$@"; do echo /tmp/runs/k$K-$a/stage2; done) -o $OUT/pack --logs 2>&1 | tail -4
for a in "$@"; do cp /tmp/runs/k$K-$a/stage1/trainer_state.json $OUT/pack/k$K-$a-stage1.trainer_state.json 2>/dev/null; done
ls -la $OUT/pack
