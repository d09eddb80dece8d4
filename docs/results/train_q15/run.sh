# The 1.5B A/B on the GPU machine, after the tools/device_parts.sh transfer calls (made with
# GGUF=<the cached Qwen2.5-Coder-1.5B GGUF> WHEELS=<the gguf wheel>), in the last call:
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; bash docs/results/train_q15/run.sh SECONDS
# Converts the model once, starts both lanes (rw25 and the static control, stage 2 from
# static-act, bfloat16, LoRA rank 16, 8 x 4 rows, eager; each lane its share of the GPU's memory
# through tools/device_lanes.sh) with --max-seconds SECONDS, then polls. LR="--learning-rate X
# --warmup N" overrides the recipe's (2e-4, 20: the static control diverged at step ~50 with them
# in the twenty-fourth session, README.md). Later calls:
#   bash tools/device_lanes.sh stop 0.5 2 STEP rw25 static     # both at one common checkpoint
#   bash tools/device_lanes.sh after docs/results/train_q15/score.sh
set -u
secs=${1:?usage: bash docs/results/train_q15/run.sh SECONDS}
. docs/results/train_q15/recipe.sh
EXTRA2="$Q15_EXTRA2 --max-seconds $secs ${LR:-}" bash tools/device_lanes.sh start 0.5 rw25 static
bash tools/device_lanes.sh poll "${POLL:-420}"
