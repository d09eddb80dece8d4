# The thirty-fifth session's scores, on the CPU here: the device time ended with the training
# and the packs (float16, as shipped). The rule of README.md and the probe, as score.sh, at LoRA
# scale 17 (x0.85, as shipped). PACKS: the folder of the unpacked k0.5-<arm>-stage2 packs.
#   PACKS=/tmp/wpack bash docs/results/train_writing/score_cpu.sh OUT
set -u
o=${1:?usage: PACKS=DIR bash docs/results/train_writing/score_cpu.sh OUT}; mkdir -p "$o"
r=/tmp/score_w; rm -rf "$r"; mkdir -p "$r"
for arm in rw25.w static.w; do
  d=$r/k0.5-${arm/./}; mkdir -p "$d"; cp -r "$PACKS/$arm/k0.5-$arm-stage2" "$d/stage2"
  python -c "import json,sys; p=sys.argv[1]; c=json.load(open(p)); c['lora_parameters']['scale']=17.0; json.dump(c,open(p,'w'),indent=2)" "$d/stage2/adapter_config.json"
done
mkdir -p "$r/k0.5-static"; ln -sfn "$r/k0.5-staticw/stage2" "$r/k0.5-static/stage2"
[ -d /tmp/writing_eval ] || python tools/make_writing.py corpus --answers docs/results/train_writing/answers \
  --corpus /tmp/writing_corpus --eval /tmp/writing_eval
shipped=$PWD/mlx_ifp/weights/smollm2-135m-instruct new=$r/k0.5-rw25w/stage2
run() { local name=$1; shift; [ -f "$o/$name.json" ] && return; python "$@" -o "$o/.$name.json" > "$o/$name.log" 2>&1 && mv "$o/.$name.json" "$o/$name.json"; }
W="--data /tmp/writing_eval --domains prose --keep 0.5 --limit 100 --no-griffin --examples , --reroute 16"
D="--keep 0.5 --limit 24 --no-griffin --examples 16 --reroute 16 --domains math,code,science,prose,general"
run wvalid_w tools/eval_task_masks.py --run "$new" $W --split valid
run wvalid_f tools/eval_task_masks.py --run "$shipped" $W --split valid
run valid_w tools/eval_task_masks.py --run "$new" $D --split valid --examples-from train
run valid_f tools/eval_task_masks.py --run "$shipped" $D --split valid --examples-from train
run probe_w tools/eval_task_masks.py --run "$new" $W --split test
run probe_fair_w tools/eval_ifp.py --data /tmp/writing_eval --domains prose --runs "$r" --keep 0.5 \
  --arms rw25w --stage stage2 --limit 100 --gen-limit 0
