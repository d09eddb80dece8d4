# The scores of run.sh's two lanes, at LoRA scale 17 (x0.85, as shipped): the rule's validation
# (writing validation prompts, then the five corpus domains; rw25.w and the shipped rw25.f),
# the packs, then the reported test scores (the writing probe, the five test splits in full).
set -u
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
o=/tmp/after/out r=/tmp/score_w; mkdir -p "$o" "$r"
for arm in rw25.w static.w; do
  d=$r/k0.5-${arm/./}; rm -rf "$d"; mkdir -p "$d"; cp -r "/tmp/runs/k0.5-$arm/stage2" "$d/stage2"
  python3 -c "import json,sys; p=sys.argv[1]; c=json.load(open(p)); c['lora_parameters']['scale']=17.0; json.dump(c,open(p,'w'),indent=2)" "$d/stage2/adapter_config.json"
done
mkdir -p "$r/k0.5-static"; ln -sfn "$r/k0.5-staticw/stage2" "$r/k0.5-static/stage2"
shipped=$PWD/mlx_ifp/weights/smollm2-135m-instruct new=$r/k0.5-rw25w/stage2
run() { local name=$1; shift; python3 "$@" -o "$o/.$name.json" > "/tmp/after/$name.log" 2>&1 && mv "$o/.$name.json" "$o/$name.json"; }
W="--data /tmp/writing_eval --domains prose --keep 0.5 --limit 100 --no-griffin --examples , --reroute 16"
run wvalid_w tools/eval_task_masks.py --run "$new" $W --split valid
run wvalid_f tools/eval_task_masks.py --run "$shipped" $W --split valid
D="--keep 0.5 --limit 24 --no-griffin --examples 16 --reroute 16 --domains math,code,science,prose,general"
run valid_w tools/eval_task_masks.py --run "$new" $D --split valid --examples-from train
run valid_f tools/eval_task_masks.py --run "$shipped" $D --split valid --examples-from train
mkdir -p "$o/.pack"  # the tars are named k0.5-<arm>-stage2.tar (.part.N over 15 MiB)
OUT=/tmp/after/pk bash tools/device_lanes.sh pack 0.5 rw25.w static.w > /tmp/after/pack.log 2>&1 \
  && cp /tmp/after/pk/pack/* /tmp/after/pk/pack.sha256 "$o/.pack/" && mv "$o"/.pack/* "$o/"
run probe_w tools/eval_task_masks.py --run "$new" $W --split test
run probe_fair_w tools/eval_ifp.py --data /tmp/writing_eval --domains prose --runs "$r" --keep 0.5 \
  --arms rw25w --stage stage2 --limit 100 --gen-limit 0
T="--limit 1000 --no-griffin --examples 16 --reroute 16 --split test --examples-from valid"
run test_w_full tools/eval_task_masks.py --run "$new" $T --domains math,code,science,prose,general
run test_fair_w_full tools/eval_ifp.py --runs "$r" --keep 0.5 --arms rw25w --stage stage2 \
  --limit 1000 --gen-limit 0 --domains math,code,science,prose,general
