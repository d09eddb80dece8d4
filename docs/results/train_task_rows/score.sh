# The scores of run.sh's three lanes, all at LoRA scale 17 (x0.85, as shipped): validation of
# rw25.t, rw25.c and the shipped rw25.f in one run (the rule, README.md here), test of rw25.t
# and rw25.c (reported, not chosen on), the fair test table with the continued static control,
# then the three packs.
set -u
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
o=/tmp/after/out r=/tmp/score_tr; mkdir -p "$o" "$r"
for arm in rw25.t rw25.c static.g; do
  d=$r/k0.5-${arm/./}; rm -rf "$d"; mkdir -p "$d"; cp -r "/tmp/runs/k0.5-$arm/stage2" "$d/stage2"
  python3 -c "import json,sys; p=sys.argv[1]; c=json.load(open(p)); c['lora_parameters']['scale']=17.0; json.dump(c,open(p,'w'),indent=2)" "$d/stage2/adapter_config.json"
done
ln -sfn "$r/k0.5-staticg" "$r/k0.5-static"
shipped=$PWD/mlx_ifp/weights/smollm2-135m-instruct
D="--keep 0.5 --limit 24 --no-griffin --examples 16 --reroute 16 --domains math,code,science,prose,general"
run() { local name=$1; shift; python3 "$@" -o "$o/.$name.json" > "/tmp/after/$name.log" 2>&1 && mv "$o/.$name.json" "$o/$name.json"; }
run valid_t tools/eval_task_masks.py --run "$r/k0.5-rw25t/stage2" $D --split valid --examples-from train
run valid_c tools/eval_task_masks.py --run "$r/k0.5-rw25c/stage2" $D --split valid --examples-from train
run valid_f tools/eval_task_masks.py --run "$shipped" $D --split valid --examples-from train
run test_t tools/eval_task_masks.py --run "$r/k0.5-rw25t/stage2" $D --split test --examples-from valid
run test_c tools/eval_task_masks.py --run "$r/k0.5-rw25c/stage2" $D --split test --examples-from valid
run test_fair tools/eval_ifp.py --runs "$r" --keep 0.5 --arms rw25t,rw25c --stage stage2 \
  --domains math,code,science,prose,general --limit 24 --gen-limit 0
mkdir -p "$o/.pack"  # one call: the tars are named k0.5-<arm>-stage2.tar (.part.N over 15 MiB)
OUT=/tmp/after/pk bash tools/device_lanes.sh pack 0.5 rw25.t rw25.c static.g > /tmp/after/pack.log 2>&1 \
  && cp /tmp/after/pk/pack/* /tmp/after/pk/pack.sha256 "$o/.pack/" && mv "$o"/.pack/* "$o/"
