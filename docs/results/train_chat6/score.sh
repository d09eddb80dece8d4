# After the rw25.c6 lane (bash tools/device_lanes.sh after docs/results/train_chat6/score.sh):
# set 6's replies copied into $OUT first (they come back even if the time runs out); the
# candidate's float16 pack at LoRA scale 17 (x0.85, as shipped); the rule's parts 1-3 for the
# shipped rw25.c5 and the candidate rw25.c6 side by side (set 6's held-out forms, the corpus's
# five validation domains, set 5's and set 4's held-out forms); then the test, reported whatever
# the rule says: probe5 for both and the corpus's every test item for rw25.c6. The control
# static.c6 (../train_chat5/staticc5 continued alike) only with NO_STATIC=0: off by default in
# the fifty-fifth session (the device time is short); it then trains beside the scoring and its
# fair rows come last.
# S=7 (../train_chat7/score.sh) does the same for set 7: the shipped rw25.c6 against rw25.c7,
# set 7's held-out forms first, then the corpus's and sets 6, 5 and 4's (control static.c7).
set -u
S=${S:-6}  # the set: 6 (as run in the fifty-fifth session) or 7
case $S in 6|7) ;; *) echo "score.sh: S is 6 or 7" >&2; exit 2 ;; esac
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1 MLX_ENABLE_TF32=0
o=/tmp/after/out r=/tmp/score_c$S; mkdir -p "$o" "$r/k0.5-rw25c$S" "$r/k0.5-static"
aS=docs/results/train_chat$S/answers; [ -f "$aS/train.jsonl.gz" ] || aS=/tmp/chat${S}_answers
tar czf "$o/.answers_c$S.tgz" -C "$(dirname "$aS")" "$(basename "$aS")" && mv "$o/.answers_c$S.tgz" "$o/answers_c$S.tgz"
here() { if [ -f "$1/ifp_config.json" ]; then echo "$PWD/$1"; else echo "/tmp/carry/.carry/$(basename "$1")"; fi; }
shipped=$(here mlx_ifp/weights/smollm2-135m-instruct) control=$(here docs/results/train_chat$((S - 1))/staticc$((S - 1)))
scale17() { python3 -c "import json,sys; p=sys.argv[1]; c=json.load(open(p)); c['lora_parameters']['scale']=17.0; json.dump(c,open(p,'w'),indent=2)" "$1/adapter_config.json"; }
rm -rf "$r/cand"; cp -r /tmp/runs/k0.5-rw25.c$S/stage2 "$r/cand" || exit 1
scale17 "$r/cand"; ln -sfn "$r/cand" "$r/k0.5-rw25c$S/stage2"
pack() {  # pack ARM into $o (the tars are named k0.5-<arm>-stage2.tar, .part.N over 15 MiB)
  mkdir -p "$o/.pack"; rm -rf "/tmp/after/pk_$1"
  OUT=/tmp/after/pk_$1 bash tools/device_lanes.sh pack 0.5 "$1" > "/tmp/after/pack_$1.log" 2>&1 \
    && cp /tmp/after/pk_$1/pack/* "$o/.pack/" && cp /tmp/after/pk_$1/pack.sha256 "$o/.pack/pack_$1.sha256" \
    && mv "$o"/.pack/* "$o/"
}
pack rw25.c$S
static=0; [ -f "$control/ifp_config.json" ] && [ "${NO_STATIC:-1}" = 0 ] && static=1
data=/tmp/cache/data/chat6-chat5-chat4-writing3-facts-v1-seed0
[ $S = 6 ] || data=/tmp/cache/data/chat7-chat6-chat5-chat4-writing3-facts-v1-seed0
if [ $static = 1 ]; then  # the control, beside the scoring, on the same corpus, steps and flags
  ln -sfn "$control" /tmp/init/k0.5-static
  from=$((3800 + 360 * (S - 6)))
  cont="--start-step $from --iters $((from + 360)) --eps-start 0.05 --eps-end 0.05 --lr-schedule cosine"
  LANES=2 DATA=$data INIT2=/tmp/init STAGES=2 \
    EXTRA2="$cont --learning-rate 1e-4 --predictor-lr 1.5e-3 --max-seconds 900" \
    bash tools/device_lanes.sh start 0.5 static.c$S > /tmp/after/static_start.log 2>&1
fi
run() { local name=$1; shift; python3 "$@" -o "$o/.$name.json" > "/tmp/after/$name.log" 2>&1 && mv "$o/.$name.json" "$o/$name.json"; }
F=math,code,science,prose,general P=math,code,general,prose
C="--domains $P --keep 0.5 --limit 60 --no-griffin --examples , --reroute 16 --split valid"
V="--keep 0.5 --limit 24 --no-griffin --examples 16 --reroute 16 --domains $F --split valid --examples-from train"
for arm in cand shipped; do  # the rule's parts 1-3 (part 4, the facts, on the CPU)
  dir=$r/cand; [ $arm = shipped ] && dir=$shipped
  run c${S}valid_$arm tools/eval_task_masks.py --run "$dir" --data /tmp/chat${S}_eval $C
  run valid_$arm tools/eval_task_masks.py --run "$dir" $V
  for k in $(seq $((S - 1)) -1 4); do  # the earlier sets' held-out forms, newest first
    run c${k}valid_$arm tools/eval_task_masks.py --run "$dir" --data /tmp/chat${k}_eval $C
  done
done
pr=docs/results/probe5/corpus  # the test, after the rule's scores
for arm in cand shipped; do
  dir=$r/cand; [ $arm = shipped ] && dir=$shipped
  run probe5_$arm tools/eval_task_masks.py --data $pr --domains $P --run "$dir" --keep 0.5 \
    --limit 100 --no-griffin --examples , --reroute 16 --split test
done
T="--limit 1000 --no-griffin --examples 16 --reroute 16 --split test --examples-from valid"
run test_rw25c${S}_full tools/eval_task_masks.py --run "$r/cand" $T --domains $F --with-replies
(cd /tmp/after && tar czf out/.logs_c$S.tgz ./*.log && mv out/.logs_c$S.tgz out/logs_c$S.tgz)
[ $static = 1 ] || exit 0
until grep -q TRAINDONE /tmp/lane_static.c$S.log; do sleep 10; done
rm -rf "$r/static"; cp -r /tmp/runs/k0.5-static.c$S/stage2 "$r/static" || exit 1
scale17 "$r/static"; ln -sfn "$r/static" "$r/k0.5-static/stage2"
pack static.c$S
run probe5_fair_c$S tools/eval_ifp.py --data $pr --runs "$r" --keep 0.5 --arms rw25c$S \
  --stage stage2 --limit 100 --gen-limit 0 --domains $P
run test_fair_c${S}_full tools/eval_ifp.py --runs "$r" --keep 0.5 --arms rw25c$S --stage stage2 \
  --limit 1000 --gen-limit 0 --batch 24 --domains $F
