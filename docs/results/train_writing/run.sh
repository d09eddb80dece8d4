# Writing rows (README.md here; written before it runs): the shipped keep-0.5 default (rw25.f)
# and its static control (static.f) continued 480 steps on the facts corpus plus 1,000 writing
# instructions, two lanes side by side on one H200. After the tools/device_parts.sh calls:
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; bash docs/results/train_writing/run.sh SECONDS
# then, in the same batch: bash tools/device_lanes.sh poll 500, and
#   bash tools/device_lanes.sh after docs/results/train_writing/score.sh   # until "done"
set -u
secs=${1:?usage: bash docs/results/train_writing/run.sh SECONDS}
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
tail -n 2 /tmp/setup.log 2>/dev/null
w=docs/results/train_writing
if [ -f $w/answers/train.jsonl.gz ]; then  # made beforehand (CPU, dequantized: the same weights)
  mkdir -p /tmp/writing_ans && cp $w/answers/*.jsonl.gz /tmp/writing_ans/
else
  python3 tools/make_writing.py answer --prompts $w/prompts.jsonl -o /tmp/writing_ans --batch 128 2>&1 | tail -n 2
fi
python3 tools/make_writing.py corpus --answers /tmp/writing_ans --data /tmp/cache/data/facts-v1-seed0 \
  --corpus /tmp/cache/data/writing-facts-v1-seed0 --eval /tmp/writing_eval 2>&1 | tail -n 2
mkdir -p /tmp/after/out && cp /tmp/writing_ans/*.jsonl.gz /tmp/after/out/
mkdir -p /tmp/init
ln -sfn "$PWD/mlx_ifp/weights/smollm2-135m-instruct" /tmp/init/k0.5-rw25
ln -sfn "$(find /tmp/carry -type d -name staticf | head -n 1)" /tmp/init/k0.5-static
ls /tmp/init/k0.5-static/ || exit 2
cont="--start-step 1760 --iters 2240 --eps-start 0.05 --eps-end 0.05 --lr-schedule cosine"
cont="$cont --learning-rate 1e-4 --predictor-lr 1.5e-3 --max-seconds $secs"
export LANES=2 DATA=/tmp/cache/data/writing-facts-v1-seed0 INIT2=/tmp/init STAGES=2 EXTRA2="$cont"
bash tools/device_lanes.sh start 0.5 rw25.w static.w
bash tools/device_lanes.sh poll "${POLL:-200}"
