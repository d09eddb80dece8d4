# The keep-0.33 continuation's scores and packs, on the GPU machine after its lanes
# (`bash tools/device_lanes.sh after docs/results/train_k033_long/score.sh`). Validation (the
# ship rule: the continued predictor against the shipped one, per input re-picked, one mask,
# per task) and test (the fair table, for the record) run side by side; results in /tmp/after/out.
set -u
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
o=/tmp/after/out; mkdir -p "$o"
dom=math,code,science,prose,general
D="--keep 0.33 --limit 24 --no-griffin --domains $dom --examples 16 --reroute 16"
mkdir -p /tmp/runs/k0.33-shipped && ln -sfn /tmp/carry/.runs20/init/k0.33-rw25 /tmp/runs/k0.33-shipped/stage2
valid() {
  python3 tools/eval_task_masks.py --run /tmp/runs/k0.33-rw25/stage2 $D --split valid --examples-from train -o "$o/valid_task_new.json"
  python3 tools/eval_task_masks.py --run /tmp/runs/k0.33-shipped/stage2 $D --split valid --examples-from train -o "$o/valid_task_shipped.json"
  python3 tools/eval_ifp.py --runs /tmp/runs --keep 0.33 --arms rw25,shipped --stage stage2 --split valid --choose \
      --limit 24 --gen-limit 0 --domains $dom -o "$o/valid_choice.json"
}
test_split() {
  python3 tools/eval_ifp.py --runs /tmp/runs --keep 0.33 --arms rw25 --stage stage2 --limit 24 --gen-limit 0 \
      --domains $dom -o "$o/test_k033.json"
  python3 tools/eval_task_masks.py --run /tmp/runs/k0.33-rw25/stage2 $D --split test --examples-from valid -o "$o/test_task.json"
}
valid > /tmp/after/valid.log 2>&1 & v=$!
test_split > /tmp/after/test.log 2>&1 & t=$!
rc=0
mkdir -p "$o/.pack"  # whole files only in $o: copied beside it, then renamed
if OUT=/tmp/after/pk bash tools/device_lanes.sh pack 0.33 rw25 static > /tmp/after/pack.log 2>&1; then
  cp /tmp/after/pk/pack/* /tmp/after/pk/pack.sha256 "$o/.pack/" && mv "$o"/.pack/* "$o/"
else rc=1; fi
wait $v || rc=1
wait $t || rc=1
exit $rc
