# After the lanes (tools/device_lanes.sh after): the packs, then the rule's validation for the
# shipped rw25.w3 and the new rw25.c4 side by side (both at LoRA scale 17, x0.85, as shipped),
# then the test, reported whatever the rule says: probe5 (written blind to the chat forms) for
# rw25.c4 and its control static.c4, and the corpus's every test item for both.
set -u
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1 MLX_ENABLE_TF32=0
o=/tmp/after/out r=/tmp/score_c4; mkdir -p "$o" "$r"
for arm in rw25.c4 static.c4; do
  dd=$r/k0.5-${arm/./}; rm -rf "$dd"; mkdir -p "$dd"; cp -r "/tmp/runs/k0.5-$arm/stage2" "$dd/stage2"
  python3 -c "import json,sys; p=sys.argv[1]; c=json.load(open(p)); c['lora_parameters']['scale']=17.0; json.dump(c,open(p,'w'),indent=2)" "$dd/stage2/adapter_config.json"
done
mkdir -p "$r/k0.5-static"; ln -sfn "$r/k0.5-staticc4/stage2" "$r/k0.5-static/stage2"
mkdir -p "$o/.pack"  # the tars are named k0.5-<arm>-stage2.tar (.part.N over 15 MiB)
OUT=/tmp/after/pk bash tools/device_lanes.sh pack 0.5 rw25.c4 static.c4 > /tmp/after/pack.log 2>&1 \
  && cp /tmp/after/pk/pack/* /tmp/after/pk/pack.sha256 "$o/.pack/" && mv "$o"/.pack/* "$o/"
new=$r/k0.5-rw25c4/stage2 old=$PWD/mlx_ifp/weights/smollm2-135m-instruct
[ -f "$old/ifp_config.json" ] || old=/tmp/carry/.carry/smollm2-135m-instruct  # slimmed
run() { local name=$1; shift; python3 "$@" -o "$o/.$name.json" > "/tmp/after/$name.log" 2>&1 && mv "$o/.$name.json" "$o/$name.json"; }
F=math,code,science,prose,general P=math,code,general,prose
C="--domains $P --keep 0.5 --limit 60 --no-griffin --examples , --reroute 16 --split valid"
W="--domains prose --keep 0.5 --limit 100 --no-griffin --examples , --reroute 16 --split valid"
V="--keep 0.5 --limit 24 --no-griffin --examples 16 --reroute 16 --domains $F --split valid --examples-from train"
for arm in c4 w3; do  # the rule's parts 1-3 (part 4, the facts, on the CPU)
  run_dir=$new; [ $arm = w3 ] && run_dir=$old
  run cvalid_$arm tools/eval_task_masks.py --run "$run_dir" --data /tmp/chat4_eval $C
  run valid_$arm tools/eval_task_masks.py --run "$run_dir" $V
  run wvalid3_$arm tools/eval_task_masks.py --run "$run_dir" --data /tmp/writing_eval3 $W
done
pr=docs/results/probe5/corpus  # the test, after the rule's scores
run probe5_tasks_c4 tools/eval_task_masks.py --data $pr --domains $P --run "$new" --keep 0.5 \
  --limit 100 --no-griffin --examples , --reroute 16 --split test
run probe5_fair_c4 tools/eval_ifp.py --data $pr --runs "$r" --keep 0.5 --arms rw25c4 \
  --stage stage2 --limit 100 --gen-limit 0 --domains $P
T="--limit 1000 --no-griffin --examples 16 --reroute 16 --split test --examples-from valid"
run test_rw25c4_full tools/eval_task_masks.py --run "$new" $T --domains $F --with-replies
run test_fair_c4_full tools/eval_ifp.py --runs "$r" --keep 0.5 --arms rw25c4 --stage stage2 \
  --limit 1000 --gen-limit 0 --batch 24 --domains $F
