# Writing, second set (README.md here; written before it runs): the shipped keep-0.5 default
# (rw25.w) and its static control (static.w) continued 480 steps on the corpus with both writing
# sets, two lanes side by side on one H200; beside them, the shipped rw25.w and static.w scored on
# every test item (the thirty-sixth session's open item, score_w.sh). After tools/device_parts.sh:
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; bash docs/results/train_writing2/run.sh SECONDS
# then: bash tools/device_lanes.sh after docs/results/train_writing2/score.sh   # until "done"
set -u
secs=${1:?usage: bash docs/results/train_writing2/run.sh SECONDS}
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
tail -n 2 /tmp/setup.log 2>/dev/null
w1=docs/results/train_writing w2=docs/results/train_writing2 d=/tmp/cache/data
# the shipped weights and static.w may travel as tools/device_parts.sh folders (.carry/NAME)
for p in mlx_ifp/weights/smollm2-135m-instruct $w1/staticw; do
  [ -f "$p/ifp_config.json" ] || { rm -rf "$p"; mkdir -p "$(dirname "$p")"; cp -r "/tmp/carry/.carry/$(basename "$p")" "$p"; } || exit 2
  ls "$p" | tr '\n' ' '; echo "<- $p"
done
mkdir -p /tmp/writing_ans && cp $w1/answers/*.jsonl.gz /tmp/writing_ans/
python3 tools/make_writing.py corpus --answers /tmp/writing_ans --data $d/facts-v1-seed0 \
  --corpus $d/writing-facts-v1-seed0 --eval /tmp/writing_eval 2>&1 | tail -n 1
python3 tools/make_writing.py corpus --answers $w2/answers --data $d/writing-facts-v1-seed0 \
  --corpus $d/writing2-facts-v1-seed0 --eval /tmp/writing_eval2 2>&1 | tail -n 1
mkdir -p /tmp/init /tmp/after/out
ln -sfn "$PWD/mlx_ifp/weights/smollm2-135m-instruct" /tmp/init/k0.5-rw25
ln -sfn "$PWD/$w1/staticw" /tmp/init/k0.5-static
(setsid nohup bash $w2/score_w.sh > /tmp/after/score_w.log 2>&1 < /dev/null &)
cont="--start-step 2240 --iters 2720 --eps-start 0.05 --eps-end 0.05 --lr-schedule cosine"
cont="$cont --learning-rate 1e-4 --predictor-lr 1.5e-3 --max-seconds $secs"
export LANES=2 DATA=$d/writing2-facts-v1-seed0 INIT2=/tmp/init STAGES=2 EXTRA2="$cont"
bash tools/device_lanes.sh start 0.5 rw25.w2 static.w2
bash tools/device_lanes.sh poll "${POLL:-200}"
