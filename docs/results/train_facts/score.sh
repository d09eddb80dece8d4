# The facts continuation's scores, on the GPU machine after its lanes (`bash
# tools/device_lanes.sh after docs/results/train_facts/score.sh`): both arms at the LoRA scale
# the shipped rule uses (17), the ship rule's validation rows for rw25.f and the shipped
# default, then the test split's fair table and the re-picked / per-task rows, then both packs.
set -u
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
o=/tmp/after/out r=/tmp/score_facts; mkdir -p "$o" "$r"
for a in rw25 static; do
  rm -rf "$r/k0.5-${a}f"; mkdir -p "$r/k0.5-${a}f"; cp -r "/tmp/runs/k0.5-$a.f/stage2" "$r/k0.5-${a}f/stage2"
  python3 -c "import json,sys; p=sys.argv[1]; c=json.load(open(p)); c['lora_parameters']['scale']=17.0; json.dump(c,open(p,'w'),indent=2)" "$r/k0.5-${a}f/stage2/adapter_config.json"
done
ln -sfn "$r/k0.5-staticf" "$r/k0.5-static"  # eval_ifp's control
V="--keep 0.5 --limit 24 --no-griffin --split valid --examples-from train --examples 16 --reroute 16 --domains math,code,science,prose,general"
run() { local name=$1; shift; python3 "$@" -o "$o/.$name.json" > "/tmp/after/$name.log" 2>&1 && mv "$o/.$name.json" "$o/$name.json"; }
run valid_rw25f tools/eval_task_masks.py --run "$r/k0.5-rw25f/stage2" $V
run valid_shipped tools/eval_task_masks.py --run "$PWD/mlx_ifp/weights/smollm2-135m-instruct" $V
run valid_choose tools/eval_ifp.py --runs "$r" --keep 0.5 --arms rw25f --stage stage2 --choose --split valid --limit 24 --gen-limit 0 --domains math,code,science,prose,general
run test_facts_k05 tools/eval_ifp.py --runs "$r" --keep 0.5 --arms rw25f --stage stage2 --limit 24 --gen-limit 0 --domains math,code,science,prose,general
run test_tasks_rw25f tools/eval_task_masks.py --run "$r/k0.5-rw25f/stage2" --keep 0.5 --limit 24 --no-griffin --split test --examples-from valid --examples 16 --reroute 16 --domains math,code,science,prose,general
mkdir -p "$o/.pack"
OUT=/tmp/after/pk bash tools/device_lanes.sh pack 0.5 rw25.f static.f > /tmp/after/pack.log 2>&1 \
  && cp /tmp/after/pk/pack/* /tmp/after/pk/pack.sha256 "$o/.pack/" && mv "$o"/.pack/* "$o/"
