# Beside the lanes (run.sh): the shipped rw25.w and its control static.w on every test item
# (score.sh's last two lines in ../train_writing/), then the rule's validation for rw25.w.
set -u
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
o=/tmp/after/out r=/tmp/score_w; mkdir -p "$o" "$r/k0.5-rw25w" "$r/k0.5-static"
ln -sfn "$PWD/mlx_ifp/weights/smollm2-135m-instruct" "$r/k0.5-rw25w/stage2"
ln -sfn "$PWD/docs/results/train_writing/staticw" "$r/k0.5-static/stage2"
run() { local name=$1; shift; python3 "$@" -o "$o/.$name.json" > "/tmp/after/$name.log" 2>&1 && mv "$o/.$name.json" "$o/$name.json"; }
shipped=$PWD/mlx_ifp/weights/smollm2-135m-instruct
T="--limit 1000 --no-griffin --examples 16 --reroute 16 --split test --examples-from valid"
F=math,code,science,prose,general
run test_w_full tools/eval_task_masks.py --run "$shipped" $T --domains $F
run test_fair_w_full tools/eval_ifp.py --runs "$r" --keep 0.5 --arms rw25w --stage stage2 \
  --limit 1000 --gen-limit 0 --batch 24 --domains $F
W="--domains prose --keep 0.5 --limit 100 --no-griffin --examples , --reroute 16 --split valid"
run wvalid_w tools/eval_task_masks.py --run "$shipped" --data /tmp/writing_eval $W
run wvalid2_w tools/eval_task_masks.py --run "$shipped" --data /tmp/writing_eval2 $W
run valid_w tools/eval_task_masks.py --run "$shipped" --keep 0.5 --limit 24 --no-griffin \
  --examples 16 --reroute 16 --domains $F --split valid --examples-from train
echo SCOREWDONE
