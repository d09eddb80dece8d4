# After the lane (tools/device_lanes.sh after): the pack, then the rule's validation rows for the
# shipped keep-0.33 predictor and the candidate side by side in this one run, both at LoRA scale
# 17 (x0.85, as shipped); then the writing probe (test, after the choice) for both.
set -u
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
o=/tmp/after/out r=/tmp/score_k033w; mkdir -p "$o" "$r"
rm -rf "$r/cand"; cp -r /tmp/runs/k0.33-rw25.w3/stage2 "$r/cand"
python3 -c "import json,sys; p=sys.argv[1]; c=json.load(open(p)); c['lora_parameters']['scale']=17.0; json.dump(c,open(p,'w'),indent=2)" "$r/cand/adapter_config.json"
mkdir -p "$o/.pack"
OUT=/tmp/after/pk bash tools/device_lanes.sh pack 0.33 rw25.w3 > /tmp/after/pack.log 2>&1 \
  && cp /tmp/after/pk/pack/* /tmp/after/pk/pack.sha256 "$o/.pack/" && mv "$o"/.pack/* "$o/"
shipped=$PWD/mlx_ifp/weights/smollm2-135m-instruct-k0.33
run() { local name=$1; shift; python3 "$@" -o "$o/.$name.json" > "/tmp/after/$name.log" 2>&1 && mv "$o/.$name.json" "$o/$name.json"; }
W="--domains prose --keep 0.33 --limit 100 --no-griffin --examples , --reroute 16 --split valid"
V="--keep 0.33 --limit 24 --no-griffin --examples 16 --reroute 16 --domains math,code,science,prose,general --split valid --examples-from train"
for arm in cand shipped; do
  dir=$r/cand; [ $arm = shipped ] && dir=$shipped
  run wvalid3_$arm tools/eval_task_masks.py --run "$dir" --data /tmp/writing_eval3 $W
  run wvalid2_$arm tools/eval_task_masks.py --run "$dir" --data /tmp/writing_eval2 $W
  run valid_$arm tools/eval_task_masks.py --run "$dir" $V
done
for arm in cand shipped; do
  dir=$r/cand; [ $arm = shipped ] && dir=$shipped
  run probe_$arm tools/eval_task_masks.py --run "$dir" --data /tmp/writing_eval ${W/valid/test}
done
