# after both lanes (device glue): pack both runs (float16), their stage-1 states and logs, into $OUT
set -u
python3 tools/pack_run.py /tmp/runs/k0.5-rw0/stage2 /tmp/runs/k0.5-static/stage2 -o $OUT/pack --logs 2>&1 | tail -4
for a in rw0 static; do cp /tmp/runs/k0.5-$a/stage1/trainer_state.json $OUT/pack/k0.5-$a-stage1.trainer_state.json 2>/dev/null; done
ls -la $OUT/pack
