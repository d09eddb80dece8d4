# After the lanes (tools/device_lanes.sh after): the packs, then both new arms on every test item
# and the rule's validation for rw25.w2, at LoRA scale 17 (x0.85, as shipped); then the probe.
set -u
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
o=/tmp/after/out r=/tmp/score_w2; mkdir -p "$o" "$r"
for arm in rw25.w2 static.w2; do
  d=$r/k0.5-${arm/./}; rm -rf "$d"; mkdir -p "$d"; cp -r "/tmp/runs/k0.5-$arm/stage2" "$d/stage2"
  python3 -c "import json,sys; p=sys.argv[1]; c=json.load(open(p)); c['lora_parameters']['scale']=17.0; json.dump(c,open(p,'w'),indent=2)" "$d/stage2/adapter_config.json"
done
mkdir -p "$r/k0.5-static"; ln -sfn "$r/k0.5-staticw2/stage2" "$r/k0.5-static/stage2"
mkdir -p "$o/.pack"  # the tars are named k0.5-<arm>-stage2.tar (.part.N over 15 MiB)
OUT=/tmp/after/pk bash tools/device_lanes.sh pack 0.5 rw25.w2 static.w2 > /tmp/after/pack.log 2>&1 \
  && cp /tmp/after/pk/pack/* /tmp/after/pk/pack.sha256 "$o/.pack/" && mv "$o"/.pack/* "$o/"
new=$r/k0.5-rw25w2/stage2
run() { local name=$1; shift; python3 "$@" -o "$o/.$name.json" > "/tmp/after/$name.log" 2>&1 && mv "$o/.$name.json" "$o/$name.json"; }
F=math,code,science,prose,general
W="--domains prose --keep 0.5 --limit 100 --no-griffin --examples , --reroute 16 --split valid"
run wvalid2_w2 tools/eval_task_masks.py --run "$new" --data /tmp/writing_eval2 $W
run wvalid_w2 tools/eval_task_masks.py --run "$new" --data /tmp/writing_eval $W
run valid_w2 tools/eval_task_masks.py --run "$new" --keep 0.5 --limit 24 --no-griffin \
  --examples 16 --reroute 16 --domains $F --split valid --examples-from train
T="--limit 1000 --no-griffin --examples 16 --reroute 16 --split test --examples-from valid"
(run test_w2_full tools/eval_task_masks.py --run "$new" $T --domains $F) &
run test_fair_w2_full tools/eval_ifp.py --runs "$r" --keep 0.5 --arms rw25w2 --stage stage2 \
  --limit 1000 --gen-limit 0 --batch 24 --domains $F
wait
run probe_w2 tools/eval_task_masks.py --run "$new" --data /tmp/writing_eval ${W/valid/test}
run probe_fair_w2 tools/eval_ifp.py --data /tmp/writing_eval --domains prose --runs "$r" \
  --keep 0.5 --arms rw25w2 --stage stage2 --limit 100 --gen-limit 0
