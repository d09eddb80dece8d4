#!/usr/bin/env bash
# Train a sparsity predictor and a learned static mask on the real multi-domain SFT data, with the
# same trainer, data, budget, steps and warm start, then evaluate both beside the training-free
# sources on the held-out test splits. CPU-sized (SmolLM2-135M, frozen LLM); scale up on a GPU.
#   bash examples/train_compare.sh [OUT_DIR]
set -euo pipefail
OUT=${1:-runs/compare}
mkdir -p "$OUT"
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
DATA=$(mlx_ifp data build | tail -n 1)
COMMON=(--data "$DATA/sft" --train frozen --iters 60 --batch-size 4 --max-seq-length 192
        --keep 0.5 --mask-forward hard_st --eps-start 1.0 --eps-end 0.03
        --val-every 30 --save-every 30 --seed 0)
printf 'predictor:\n  head: full\n  pooling: last\n  init: static-act\n' > "$OUT/predictor.yaml"
printf 'predictor:\n  head: static\n  init: static-act\n' > "$OUT/static.yaml"
mlx_ifp finetune "${COMMON[@]}" --predictor-lr 3e-4 -c "$OUT/predictor.yaml" -o "$OUT/predictor"
mlx_ifp finetune "${COMMON[@]}" --predictor-lr 3e-3 -c "$OUT/static.yaml" -o "$OUT/learned-static"
mlx_ifp eval --data "$DATA" --mask-sources full,static-act,griffin --keep 0.5 --modes input,task \
    --adapter predictor="$OUT/predictor" --adapter learned-static="$OUT/learned-static" \
    --limit 6 --gen-limit 0 --max-len 256 -o "$OUT/eval.json"
