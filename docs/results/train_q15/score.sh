# The 1.5B pilot's scores and packs, on the GPU machine after its lanes
# (`bash tools/device_lanes.sh after docs/results/train_q15/score.sh`): validation (the reading
# of the pilot) and test (for the record) side by side, bfloat16 as trained; both arms at the
# step `device_lanes.sh stop` kept (stage2-<STEP>), else their last checkpoint. Results in
# /tmp/after/out.
set -u
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
o=/tmp/after/out; mkdir -p "$o"
st=$(cd /tmp/runs/k0.5-rw25 && ls -d stage2-* 2>/dev/null | sort -t- -k2 -n | tail -n 1); st=${st:-stage2}
echo "scoring $st"
E="--model qwen2.5-coder-1.5b-instruct --dtype bfloat16 --runs /tmp/runs --keep 0.5 --arms rw25 --stage $st"
E="$E --limit 24 --gen-limit 0 --domains math,code,science,prose,general"
# one after the other: two MLX processes on one GPU each size their cache to all of it
(python3 tools/eval_ifp.py $E --split valid -o "$o/valid_q15.json" > /tmp/after/valid.log 2>&1 \
  && python3 tools/eval_ifp.py $E -o "$o/test_q15.json" > /tmp/after/test.log 2>&1) & v=$!
rc=0
mkdir -p "$o/.pack"  # whole files only in $o: copied beside it, then renamed
if PACK_STAGE=$st OUT=/tmp/after/pk bash tools/device_lanes.sh pack 0.5 rw25 static > /tmp/after/pack.log 2>&1; then
  cp /tmp/after/pk/pack/* /tmp/after/pk/pack.sha256 "$o/.pack/" && mv "$o"/.pack/* "$o/"
else rc=1; fi
wait $v || rc=1
exit $rc
