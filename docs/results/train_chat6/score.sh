# After the rw25.c6 lane (bash tools/device_lanes.sh after docs/results/train_chat6/score.sh):
# set 6's replies copied into $OUT first (they come back even if the time runs out); the
# candidate's float16 pack at LoRA scale 17 (x0.85, as shipped); the rule's parts 1-3 for the
# shipped rw25.c5 and the candidate rw25.c6 side by side (set 6's held-out forms, the corpus's
# five validation domains, set 5's and set 4's held-out forms); then the test, reported whatever
# the rule says: probe5 for both and the corpus's every test item for rw25.c6. The control
# static.c6 (../train_chat5/staticc5 continued alike) only with NO_STATIC=0: off by default in
# the fifty-fifth session (the device time is short); it then trains beside the scoring and its
# fair rows come last.
set -u
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1 MLX_ENABLE_TF32=0
o=/tmp/after/out r=/tmp/score_c6; mkdir -p "$o" "$r/k0.5-rw25c6" "$r/k0.5-static"
a6=docs/results/train_chat6/answers; [ -f "$a6/train.jsonl.gz" ] || a6=/tmp/chat6_answers
tar czf "$o/.answers_c6.tgz" -C "$(dirname "$a6")" "$(basename "$a6")" && mv "$o/.answers_c6.tgz" "$o/answers_c6.tgz"
here() { if [ -f "$1/ifp_config.json" ]; then echo "$PWD/$1"; else echo "/tmp/carry/.carry/$(basename "$1")"; fi; }
shipped=$(here mlx_ifp/weights/smollm2-135m-instruct) control=$(here docs/results/train_chat5/staticc5)
scale17() { python3 -c "import json,sys; p=sys.argv[1]; c=json.load(open(p)); c['lora_parameters']['scale']=17.0; json.dump(c,open(p,'w'),indent=2)" "$1/adapter_config.json"; }
rm -rf "$r/cand"; cp -r /tmp/runs/k0.5-rw25.c6/stage2 "$r/cand" || exit 1
scale17 "$r/cand"; ln -sfn "$r/cand" "$r/k0.5-rw25c6/stage2"
pack() {  # pack ARM into $o (the tars are named k0.5-<arm>-stage2.tar, .part.N over 15 MiB)
  mkdir -p "$o/.pack"; rm -rf "/tmp/after/pk_$1"
  OUT=/tmp/after/pk_$1 bash tools/device_lanes.sh pack 0.5 "$1" > "/tmp/after/pack_$1.log" 2>&1 \
    && cp /tmp/after/pk_$1/pack/* "$o/.pack/" && cp /tmp/after/pk_$1/pack.sha256 "$o/.pack/pack_$1.sha256" \
    && mv "$o"/.pack/* "$o/"
}
pack rw25.c6
static=0; [ -f "$control/ifp_config.json" ] && [ "${NO_STATIC:-1}" = 0 ] && static=1
if [ $static = 1 ]; then  # the control, beside the scoring, on the same corpus, steps and flags
  ln -sfn "$control" /tmp/init/k0.5-static
  cont="--start-step 3800 --iters 4160 --eps-start 0.05 --eps-end 0.05 --lr-schedule cosine"
  LANES=2 DATA=/tmp/cache/data/chat6-chat5-chat4-writing3-facts-v1-seed0 INIT2=/tmp/init STAGES=2 \
    EXTRA2="$cont --learning-rate 1e-4 --predictor-lr 1.5e-3 --max-seconds 900" \
    bash tools/device_lanes.sh start 0.5 static.c6 > /tmp/after/static_start.log 2>&1
fi
run() { local name=$1; shift; python3 "$@" -o "$o/.$name.json" > "/tmp/after/$name.log" 2>&1 && mv "$o/.$name.json" "$o/$name.json"; }
F=math,code,science,prose,general P=math,code,general,prose
C="--domains $P --keep 0.5 --limit 60 --no-griffin --examples , --reroute 16 --split valid"
V="--keep 0.5 --limit 24 --no-griffin --examples 16 --reroute 16 --domains $F --split valid --examples-from train"
for arm in cand shipped; do  # the rule's parts 1-3 (part 4, the facts, on the CPU)
  dir=$r/cand; [ $arm = shipped ] && dir=$shipped
  run c6valid_$arm tools/eval_task_masks.py --run "$dir" --data /tmp/chat6_eval $C
  run valid_$arm tools/eval_task_masks.py --run "$dir" $V
  run c5valid_$arm tools/eval_task_masks.py --run "$dir" --data /tmp/chat5_eval $C
  run c4valid_$arm tools/eval_task_masks.py --run "$dir" --data /tmp/chat4_eval $C
done
pr=docs/results/probe5/corpus  # the test, after the rule's scores
for arm in cand shipped; do
  dir=$r/cand; [ $arm = shipped ] && dir=$shipped
  run probe5_$arm tools/eval_task_masks.py --data $pr --domains $P --run "$dir" --keep 0.5 \
    --limit 100 --no-griffin --examples , --reroute 16 --split test
done
T="--limit 1000 --no-griffin --examples 16 --reroute 16 --split test --examples-from valid"
run test_rw25c6_full tools/eval_task_masks.py --run "$r/cand" $T --domains $F --with-replies
(cd /tmp/after && tar czf out/.logs_c6.tgz ./*.log && mv out/.logs_c6.tgz out/logs_c6.tgz)
[ $static = 1 ] || exit 0
until grep -q TRAINDONE /tmp/lane_static.c6.log; do sleep 10; done
rm -rf "$r/static"; cp -r /tmp/runs/k0.5-static.c6/stage2 "$r/static" || exit 1
scale17 "$r/static"; ln -sfn "$r/static" "$r/k0.5-static/stage2"
pack static.c6
run probe5_fair_c6 tools/eval_ifp.py --data $pr --runs "$r" --keep 0.5 --arms rw25c6 \
  --stage stage2 --limit 100 --gen-limit 0 --domains $P
run test_fair_c6_full tools/eval_ifp.py --runs "$r" --keep 0.5 --arms rw25c6 --stage stage2 \
  --limit 1000 --gen-limit 0 --batch 24 --domains $F
