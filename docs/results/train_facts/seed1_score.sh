# The second data order's scores (seed1_run.sh), beside the shipped rw25.f's in the same run:
# validation (the rule) and test, both at LoRA scale 17, then its pack.
set -u
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
o=/tmp/after/out r=/tmp/score_s1; mkdir -p "$o" "$r"
rm -rf "$r/s1"; cp -r /tmp/runs/k0.5-rw25.s1/stage2 "$r/s1"
python3 -c "import json,sys; p=sys.argv[1]; c=json.load(open(p)); c['lora_parameters']['scale']=17.0; json.dump(c,open(p,'w'),indent=2)" "$r/s1/adapter_config.json"
shipped=$PWD/mlx_ifp/weights/smollm2-135m-instruct
D="--keep 0.5 --limit 24 --no-griffin --examples 16 --reroute 16 --domains math,code,science,prose,general"
run() { local name=$1; shift; python3 "$@" -o "$o/.$name.json" > "/tmp/after/$name.log" 2>&1 && mv "$o/.$name.json" "$o/$name.json"; }
run valid_s1 tools/eval_task_masks.py --run "$r/s1" $D --split valid --examples-from train
run valid_rw25f tools/eval_task_masks.py --run "$shipped" $D --split valid --examples-from train
run test_s1 tools/eval_task_masks.py --run "$r/s1" $D --split test --examples-from valid
mkdir -p "$o/.pack"
OUT=/tmp/after/pk bash tools/device_lanes.sh pack 0.5 rw25.s1 > /tmp/after/pack.log 2>&1 \
  && cp /tmp/after/pk/pack/* /tmp/after/pk/pack.sha256 "$o/.pack/" && mv "$o"/.pack/* "$o/"
