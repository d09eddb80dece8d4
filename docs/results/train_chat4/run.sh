# Chat forms (README.md here; rule written before the run): the shipped keep-0.5 default rw25.w3
# continued on the facts corpus + the three writing sets + the chat forms, one lane, then the
# rule's validation for rw25.w3 and the new rw25.c4 side by side (LoRA scale 17, x0.85, as
# shipped) and a float16 pack, all in one device call. After tools/device_parts.sh:
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; bash docs/results/train_chat4/run.sh SECONDS
set -u
secs=${1:?usage: bash docs/results/train_chat4/run.sh SECONDS}
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1 MLX_ENABLE_TF32=0
tail -n 2 /tmp/setup.log 2>/dev/null
shipped=$PWD/mlx_ifp/weights/smollm2-135m-instruct
ls "$shipped" || exit 2
. docs/results/train_writing3/corpora.sh  # the three writing sets' corpora; $prev the last
c4=/tmp/cache/data/chat4-writing3-facts-v1-seed0; rm -rf "$c4" /tmp/chat4_eval
python3 tools/make_chat.py corpus --answers docs/results/train_chat4/answers --data "$prev" \
  --corpus "$c4" --eval /tmp/chat4_eval 2>&1 | tail -n 2
mkdir -p /tmp/init $OUT/logs; ln -sfn "$shipped" /tmp/init/k0.5-rw25
cont="--start-step 3080 --iters 3440 --eps-start 0.05 --eps-end 0.05 --lr-schedule cosine"
cont="$cont --learning-rate 1e-4 --predictor-lr 1.5e-3 --max-seconds $secs"
LANES=1 DATA=$c4 INIT2=/tmp/init STAGES=2 EXTRA2="$cont" bash tools/device_lanes.sh start 0.5 rw25.c4
bash tools/device_lanes.sh poll $((secs + 120)) | tail -n 3
r=/tmp/score_c4; dd=$r/k0.5-rw25c4; mkdir -p "$dd"; cp -r /tmp/runs/k0.5-rw25.c4/stage2 "$dd/stage2"
python3 -c "import json,sys; p=sys.argv[1]; c=json.load(open(p)); c['lora_parameters']['scale']=17.0; json.dump(c,open(p,'w'),indent=2)" "$dd/stage2/adapter_config.json"
OUT=$OUT bash tools/device_lanes.sh pack 0.5 rw25.c4 > $OUT/logs/pack.log 2>&1
new=$dd/stage2 old=$shipped
run() { local name=$1; shift; python3 "$@" -o "$OUT/.$name.json" > "$OUT/logs/$name.log" 2>&1 && mv "$OUT/.$name.json" "$OUT/$name.json"; }
F=math,code,science,prose,general
C="--domains math,code,general,prose --keep 0.5 --limit 60 --no-griffin --examples , --reroute 16 --split valid"
W="--domains prose --keep 0.5 --limit 100 --no-griffin --examples , --reroute 16 --split valid"
V="--keep 0.5 --limit 24 --no-griffin --examples 16 --reroute 16 --domains $F --split valid --examples-from train"
# the rule's parts in turn, each for both arms (a call cut short keeps the parts done)
dir() { if [ $1 = c4 ]; then echo "$new"; else echo "$old"; fi; }
for arm in c4 w3; do run cvalid_$arm tools/eval_task_masks.py --run "$(dir $arm)" --data /tmp/chat4_eval $C; done
for arm in c4 w3; do run valid_$arm tools/eval_task_masks.py --run "$(dir $arm)" $V; done
for arm in c4 w3; do run wvalid3_$arm tools/eval_task_masks.py --run "$(dir $arm)" --data /tmp/writing_eval3 $W; done
ls -la $OUT $OUT/pack 2>/dev/null | tail -n 20
