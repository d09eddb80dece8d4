# After the end-weight lane(s) (bash tools/device_lanes.sh after docs/results/end_weight/score.sh):
# each candidate at LoRA scale 17 (x0.85, as shipped) and packed in float16; then for it and the
# shipped rw25.c6, side by side: the corpus's five validation domains (the rule's part 1) and
# ended_runs.py on the 47 prompts (part 2), and set 6's held-out forms (the on-policy rule's
# part 2). rw25.e1 (the control) and rw25.op (../onpolicy/) only if their lanes ran.
set -u
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1 MLX_ENABLE_TF32=0
o=/tmp/after/out r=/tmp/score_ew; mkdir -p "$o" "$r"
shipped=$PWD/mlx_ifp/weights/smollm2-135m-instruct
scale17() { python3 -c "import json,sys; p=sys.argv[1]; c=json.load(open(p)); c['lora_parameters']['scale']=17.0; json.dump(c,open(p,'w'),indent=2)" "$1/adapter_config.json"; }
arms=""
for a in rw25.e4 rw25.e1 rw25.op; do
  [ -f /tmp/runs/k0.5-$a/stage2/ifp_config.json ] || continue
  rm -rf "$r/$a"; cp -r /tmp/runs/k0.5-$a/stage2 "$r/$a" && scale17 "$r/$a" && arms="$arms $a"
  cp /tmp/runs/k0.5-$a/stage2/trainer_state.json "$o/$a.trainer_state.json"
done
[ -n "$arms" ] || { echo "score.sh: no finished lane" >&2; exit 1; }
run() { local name=$1; shift; python3 "$@" -o "$o/.$name.json" > "/tmp/after/$name.log" 2>&1 && mv "$o/.$name.json" "$o/$name.json"; }
flags=""; for a in $arms; do flags="$flags --run $a=$r/$a"; done
run ended docs/results/end_weight/ended_runs.py --run shipped=$shipped $flags
V="--keep 0.5 --limit 24 --no-griffin --examples 16 --reroute 16 --split valid --examples-from train"
V="$V --domains math,code,science,prose,general"
run valid_shipped tools/eval_task_masks.py --run "$shipped" $V
for a in $arms; do run valid_$a tools/eval_task_masks.py --run "$r/$a" $V; done
# set 6's held-out forms (../onpolicy/README.md, its rule's part 2; /tmp/chat6_eval from start.sh)
C="--domains math,code,general,prose --keep 0.5 --limit 60 --no-griffin --examples , --reroute 16 --split valid"
if [ -d /tmp/chat6_eval ]; then
  run c6valid_shipped tools/eval_task_masks.py --run "$shipped" --data /tmp/chat6_eval $C
  for a in $arms; do run c6valid_$a tools/eval_task_masks.py --run "$r/$a" --data /tmp/chat6_eval $C; done
fi
for a in $arms; do  # the float16 packs of the candidates (the tars over 15 MiB come back in parts)
  [ "$a" = rw25.e1 ] && continue  # (the control is never shipped)
  mkdir -p "$o/.pack"; rm -rf /tmp/after/pk_$a
  OUT=/tmp/after/pk_$a bash tools/device_lanes.sh pack 0.5 "$a" > "/tmp/after/pack_$a.log" 2>&1 \
    && cp /tmp/after/pk_$a/pack/* "$o/.pack/" && cp /tmp/after/pk_$a/pack.sha256 "$o/.pack/pack_$a.sha256" \
    && mv "$o"/.pack/* "$o/"
done
(cd /tmp/after && tar czf out/.logs_ew.tgz ./*.log && mv out/.logs_ew.tgz out/logs_ew.tgz)
