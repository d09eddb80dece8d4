# The keep-0.33 facts continuation's scores, on the GPU machine after its lane (`bash
# tools/device_lanes.sh after docs/results/train_facts_k033/score.sh`): the candidate at the
# shipped LoRA scale rule (x0.85 of the trained 20: 17), the ship rule's validation rows for it
# and the shipped keep-0.33 predictor, then the test split's per-input / re-picked / per-task
# rows for both, then the candidate's pack.
set -u
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
o=/tmp/after/out r=/tmp/score_k033; mkdir -p "$o" "$r"
rm -rf "$r/cand"; cp -r /tmp/runs/k0.33-rw25.f/stage2 "$r/cand"
python3 -c "import json,sys; p=sys.argv[1]; c=json.load(open(p)); c['lora_parameters']['scale']=17.0; json.dump(c,open(p,'w'),indent=2)" "$r/cand/adapter_config.json"
shipped=$PWD/mlx_ifp/weights/smollm2-135m-instruct-k0.33
D="--keep 0.33 --limit 24 --no-griffin --examples 16 --reroute 16 --domains math,code,science,prose,general"
run() { local name=$1; shift; python3 "$@" -o "$o/.$name.json" > "/tmp/after/$name.log" 2>&1 && mv "$o/.$name.json" "$o/$name.json"; }
run valid_k033f tools/eval_task_masks.py --run "$r/cand" $D --split valid --examples-from train
run valid_shipped033 tools/eval_task_masks.py --run "$shipped" $D --split valid --examples-from train
run test_k033f tools/eval_task_masks.py --run "$r/cand" $D --split test --examples-from valid
run test_shipped033 tools/eval_task_masks.py --run "$shipped" $D --split test --examples-from valid
mkdir -p "$o/.pack"
OUT=/tmp/after/pk bash tools/device_lanes.sh pack 0.33 rw25.f > /tmp/after/pack.log 2>&1 \
  && cp /tmp/after/pk/pack/* /tmp/after/pk/pack.sha256 "$o/.pack/" && mv "$o"/.pack/* "$o/"
