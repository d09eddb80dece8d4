# The fair rows at keep 0.33 on every test item (README.md here): the shipped keep-0.33 predictor
# (mlx_ifp/weights/smollm2-135m-instruct-k0.33, rw25.w3, step 2,070) against the new learned
# static control static.w3 (float16 pack p2070, slice.sh), both LoRAs at scale 17 (x0.85 of the
# trained 20, as shipped), scored in one call, as ../train_chat4/score.sh does at keep 0.5.
# On the machine that ran segment w, once slice.sh's lane says TRAINDONE:
#   bash tools/device_lanes.sh after docs/results/train_static_k033/score.sh 500   # until "done"
# On a fresh machine (p2070 carried in .carry/p2070/), after setup.sh, first
#   echo TRAINDONE > /tmp/lane_score.log   # `after` runs only where a lane has ended
set -u
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1 MLX_ENABLE_TF32=0
o=/tmp/after/out r=/tmp/score_k033s; mkdir -p "$o"
ctl=$(ls -d /tmp/packs/p2070/stage2* /tmp/carry/.carry/p2070/stage2* 2>/dev/null | head -n 1)
shipped=$PWD/mlx_ifp/weights/smollm2-135m-instruct-k0.33
[ -f "$shipped/ifp_config.json" ] || shipped=/tmp/carry/.carry/smollm2-135m-instruct-k0.33  # slimmed
[ -n "$ctl" ] && [ -f "$ctl/ifp_config.json" ] && [ -f "$shipped/ifp_config.json" ] \
  || { echo "score.sh: no control pack p2070 ($ctl) or shipped weights ($shipped)" >&2; exit 2; }
# the control's packs first (each ~10 MB: `after` sends them at its next poll, before any score,
# so a session whose device time runs out mid-score still keeps them)
for t in /tmp/packs/p*.tar; do
  [ -f "$t" ] && cp "$t" "$o/.${t##*/}" && mv "$o/.${t##*/}" "$o/${t##*/}"
done
(cd "$o" && ls p*.tar > /dev/null 2>&1 && sha256sum p*.tar > .packs.sha256 && mv .packs.sha256 packs.sha256)
rm -rf "$r"; mkdir -p "$r/k0.33-rw25w3" "$r/k0.33-static"
cp -r "$ctl" "$r/k0.33-static/stage2"
python3 -c "import json,sys; p=sys.argv[1]; c=json.load(open(p)); c['lora_parameters']['scale']=17.0; json.dump(c,open(p,'w'),indent=2)" "$r/k0.33-static/stage2/adapter_config.json"
ln -sfn "$shipped" "$r/k0.33-rw25w3/stage2"
grep -h '"scale"' "$r"/k0.33-*/stage2/adapter_config.json  # both 17.0
run() { local name=$1; shift; python3 "$@" -o "$o/.$name.json" > "/tmp/after/$name.log" 2>&1 && mv "$o/.$name.json" "$o/$name.json"; }
F=math,code,science,prose,general
# 1. the fair table: dense, GRIFFIN, static-act, random, the swap rows, the learned static control,
#    the LoRA unpruned, IFP per input and per task (every test item: --limit 1000 covers them)
run test_fair_k033s_full tools/eval_ifp.py --runs "$r" --keep 0.33 --arms rw25w3 --stage stage2 \
  --limit 1000 --gen-limit 0 --batch 24 --domains $F
# 2. the shipped predictor re-picked every 16 reply tokens (generate's default) and per task, in
#    the same call (../full_test/test_k033w_full.json is the same rows from the forty-fourth session)
run test_k033w_full_s tools/eval_task_masks.py --run "$shipped" --keep 0.33 --limit 1000 --no-griffin \
  --examples 16 --reroute 16 --split test --examples-from valid --domains $F
ls -la "$o"
