# After the lanes (tools/device_lanes.sh after): the packs, then the rule's validation for the
# shipped rw25.w2 and the new rw25.w3 side by side in this one run, both at LoRA scale 17 (x0.85,
# as shipped); then the probe (test, after the choice), and the new control on the probe.
set -u
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
o=/tmp/after/out r=/tmp/score_w3; mkdir -p "$o" "$r"
for arm in rw25.w3 static.w3; do
  dd=$r/k0.5-${arm/./}; rm -rf "$dd"; mkdir -p "$dd"; cp -r "/tmp/runs/k0.5-$arm/stage2" "$dd/stage2"
  python3 -c "import json,sys; p=sys.argv[1]; c=json.load(open(p)); c['lora_parameters']['scale']=17.0; json.dump(c,open(p,'w'),indent=2)" "$dd/stage2/adapter_config.json"
done
mkdir -p "$r/k0.5-static"; ln -sfn "$r/k0.5-staticw3/stage2" "$r/k0.5-static/stage2"
mkdir -p "$o/.pack"  # the tars are named k0.5-<arm>-stage2.tar (.part.N over 15 MiB)
OUT=/tmp/after/pk bash tools/device_lanes.sh pack 0.5 rw25.w3 static.w3 > /tmp/after/pack.log 2>&1 \
  && cp /tmp/after/pk/pack/* /tmp/after/pk/pack.sha256 "$o/.pack/" && mv "$o"/.pack/* "$o/"
new=$r/k0.5-rw25w3/stage2 old=$PWD/mlx_ifp/weights/smollm2-135m-instruct
[ -f "$old/ifp_config.json" ] || old=/tmp/carry/.carry/smollm2-135m-instruct  # slimmed (run.sh)
run() { local name=$1; shift; python3 "$@" -o "$o/.$name.json" > "/tmp/after/$name.log" 2>&1 && mv "$o/.$name.json" "$o/$name.json"; }
F=math,code,science,prose,general
W="--domains prose --keep 0.5 --limit 100 --no-griffin --examples , --reroute 16 --split valid"
V="--keep 0.5 --limit 24 --no-griffin --examples 16 --reroute 16 --domains $F --split valid --examples-from train"
for arm in w3 w2; do
  run_dir=$new; [ $arm = w2 ] && run_dir=$old
  run wvalid3_$arm tools/eval_task_masks.py --run "$run_dir" --data /tmp/writing_eval3 $W
  run wvalid2_$arm tools/eval_task_masks.py --run "$run_dir" --data /tmp/writing_eval2 $W
  run valid_$arm tools/eval_task_masks.py --run "$run_dir" $V
done
run probe_w3 tools/eval_task_masks.py --run "$new" --data /tmp/writing_eval ${W/valid/test}
run probe_fair_w3 tools/eval_ifp.py --data /tmp/writing_eval --domains prose --runs "$r" \
  --keep 0.5 --arms rw25w3 --stage stage2 --limit 100 --gen-limit 0
# then both new arms on every test item, one tool after the other (side by side on an H100 both
# ran out of GPU memory: ../full_test/, fortieth session), reported whatever the rule says
T="--limit 1000 --no-griffin --examples 16 --reroute 16 --split test --examples-from valid"
run test_rw25w3_full tools/eval_task_masks.py --run "$new" $T --domains $F --with-replies
run test_fair_w3_full tools/eval_ifp.py --runs "$r" --keep 0.5 --arms rw25w3 --stage stage2 \
  --limit 1000 --gen-limit 0 --batch 24 --domains $F
# (added in the forty-first session, after the rule: a reported row, not a choice) the shipped
# rw25.w2's per-task mask from 16 validation examples read with their replies, every test item
run test_rw25w2_replies tools/eval_task_masks.py --run "$old" --limit 1000 --no-griffin \
  --examples 16 --with-replies --split test --examples-from valid --domains $F
