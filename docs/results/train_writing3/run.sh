# Writing, third set (README.md here; written before it runs): the shipped keep-0.5 default
# (rw25.w2) and its static control (static.w2) continued 360 steps (2,720 -> 3,080) on the corpus
# with all three writing sets, two lanes side by side on one GPU. After tools/device_parts.sh .carry:
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; POLL=500 bash docs/results/train_writing3/run.sh 470
# then: bash tools/device_lanes.sh after docs/results/train_writing3/score.sh   # until "done"
set -u
secs=${1:?usage: bash docs/results/train_writing3/run.sh SECONDS}
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
tail -n 2 /tmp/setup.log 2>/dev/null
w2=docs/results/train_writing2
# the shipped weights and static.w2 travel as tools/device_parts.sh folders (.carry/NAME) where
# the checkout was slimmed; they are read from there, outside the checkout, because the device
# copies the checkout again on every call (the forty-second session's scoring found the
# shipped folder emptied by the next call)
here() { if [ -f "$1/ifp_config.json" ]; then echo "$PWD/$1"; else echo "/tmp/carry/.carry/$(basename "$1")"; fi; }
shipped=$(here mlx_ifp/weights/smollm2-135m-instruct) control=$(here $w2/staticw2)
ls "$shipped" "$control" || exit 2
. docs/results/train_writing3/corpora.sh  # the three writing sets' corpora; $prev the last
mkdir -p /tmp/init /tmp/after/out
ln -sfn "$shipped" /tmp/init/k0.5-rw25
ln -sfn "$control" /tmp/init/k0.5-static
cont="--start-step 2720 --iters 3080 --eps-start 0.05 --eps-end 0.05 --lr-schedule cosine"
cont="$cont --learning-rate 1e-4 --predictor-lr 1.5e-3 --max-seconds $secs"
export LANES=2 DATA=$prev INIT2=/tmp/init STAGES=2 EXTRA2="$cont"
bash tools/device_lanes.sh start 0.5 rw25.w3 static.w3
bash tools/device_lanes.sh poll "${POLL:-200}"
