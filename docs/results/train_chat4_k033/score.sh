# After the lane (tools/device_lanes.sh after): the pack, then the rule's validation for the
# shipped keep-0.33 predictor and the candidate side by side (both at LoRA scale 17, x0.85, as
# shipped), then the test, reported whatever the rule says: probe5 at keep 0.33 for both, and
# the corpus's every test item for the candidate.
set -u
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1 MLX_ENABLE_TF32=0
o=/tmp/after/out r=/tmp/score_k033c4; mkdir -p "$o" "$r"
rm -rf "$r/cand"; cp -r /tmp/runs/k0.33-rw25.c4/stage2 "$r/cand"
python3 -c "import json,sys; p=sys.argv[1]; c=json.load(open(p)); c['lora_parameters']['scale']=17.0; json.dump(c,open(p,'w'),indent=2)" "$r/cand/adapter_config.json"
mkdir -p "$o/.pack"
OUT=/tmp/after/pk bash tools/device_lanes.sh pack 0.33 rw25.c4 > /tmp/after/pack.log 2>&1 \
  && cp /tmp/after/pk/pack/* /tmp/after/pk/pack.sha256 "$o/.pack/" && mv "$o"/.pack/* "$o/"
shipped=$PWD/mlx_ifp/weights/smollm2-135m-instruct-k0.33
[ -f "$shipped/ifp_config.json" ] || shipped=/tmp/carry/.carry/smollm2-135m-instruct-k0.33  # slimmed
run() { local name=$1; shift; python3 "$@" -o "$o/.$name.json" > "/tmp/after/$name.log" 2>&1 && mv "$o/.$name.json" "$o/$name.json"; }
F=math,code,science,prose,general P=math,code,general,prose
C="--domains $P --keep 0.33 --limit 60 --no-griffin --examples , --reroute 16 --split valid"
W="--domains prose --keep 0.33 --limit 100 --no-griffin --examples , --reroute 16 --split valid"
V="--keep 0.33 --limit 24 --no-griffin --examples 16 --reroute 16 --domains $F --split valid --examples-from train"
for arm in cand shipped; do  # the rule's parts 1-3 (part 4, the facts, on the CPU)
  dir=$r/cand; [ $arm = shipped ] && dir=$shipped
  run cvalid_$arm tools/eval_task_masks.py --run "$dir" --data /tmp/chat4_eval $C
  run valid_$arm tools/eval_task_masks.py --run "$dir" $V
  run wvalid3_$arm tools/eval_task_masks.py --run "$dir" --data /tmp/writing_eval3 $W
done
pr=docs/results/probe5/corpus  # the test, after the rule's scores
for arm in cand shipped; do
  dir=$r/cand; [ $arm = shipped ] && dir=$shipped
  run probe5_$arm tools/eval_task_masks.py --data $pr --domains $P --run "$dir" --keep 0.33 \
    --limit 100 --no-griffin --examples , --reroute 16 --split test
done
T="--limit 1000 --no-griffin --examples 16 --reroute 16 --split test --examples-from valid"
run test_k033c4_full tools/eval_task_masks.py --run "$r/cand" --keep 0.33 $T --domains $F
