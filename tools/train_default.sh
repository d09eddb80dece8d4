#!/usr/bin/env bash
# Train the default predictor and its learned-static control per keep: stage 1, stage 2 from it,
# stage 2 continued (2c), then continued on the corpus with named-entity facts (2f). The shipped
# keep-0.33 predictor: KEEPS=0.33 EXTRA="--lora-rank 16" REPICK2="" STAGES="1 2 2c", then
# KEEPS=0.33 EXTRA="--lora-rank 16" STAGES=2f (docs/results/train_facts_k033/).
#   bash tools/train_default.sh [OUT] [KEEPS]     (default: runs/default "0.5 0.33")
# Keeps run side by side (GPUS spreads them over GPUs); the arms of one keep run one after
# another (one compiled run alone did 34k tok/s on an H200, three side by side 5k each, and two
# compiled runs on one GPU ran out of memory; SIDE_BY_SIDE=1 runs them at once anyway). The
# arms differ only in the predictor: ARMS="rw25 static" by default (the shipped recipe), where
# predictor = the griffin head, static = one learned mask (the control), balanced = griffin
# head with prior and prompt term at unit scale, shared = balanced + half of k shared by every
# prompt (a shared + routed split), routeNN = NN% of k shared (learned as a static mask) and the
# rest routed by the prompt's GRIFFIN statistics (route50, route75), rwNN = the same split with
# the routed part the top of a learned, bounded re-weighting of those statistics (rw50, rw25;
# RW_BOUND=1.0 bounds the learned offset, in z units); a label after a dot (rw25.rp16) names a
# variant with its own folder. DATA=... picks the
# corpus folder (default: the one `mlx_ifp data build` made in the cache). Logs beside each run.
set -euo pipefail
if [[ ${1:-} == -h || ${1:-} == --help ]]; then  # the usage and the head of this file; nothing run
  echo "usage: [KEEPS=...] [ARMS=...] [STAGES=...] bash tools/train_default.sh [OUT] [KEEPS]"; sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0
fi
if [[ ${1:-} == -* ]]; then echo "usage: bash tools/train_default.sh [OUT] [KEEPS] (--help: the settings)" >&2; exit 2; fi
OUT=${1:-runs/default}
KEEPS=${2:-${KEEPS:-"0.5 0.33"}}  # or KEEPS="0.5" in the environment
CACHE=${MLX_IFP_CACHE:-$HOME/.cache/mlx_ifp}
if [ -z "${DATA:-}" ]; then  # the one corpus `mlx_ifp data build` left in the cache; several: refused
  builds=()  # those with a manifest.json, as mlx_ifp.data.cached_build counts them
  for m in "$CACHE"/data/v1-*/manifest.json; do if [ -f "$m" ]; then builds+=("${m%/manifest.json}"); fi; done
  if [ ${#builds[@]} != 1 ]; then
    echo "${#builds[@]} corpora in $CACHE/data/v1-* (none: run mlx_ifp data build): pass DATA=FOLDER" >&2
    exit 2
  fi
  DATA=${builds[0]}
fi
EXTRA=${EXTRA:-}  # extra finetune flags for both stages; EXTRA1 / EXTRA2 for one
EXTRA1=${EXTRA1:-}
EXTRA2=${EXTRA2:-}
# stage 2 of the rw arms trains a quarter of each batch's rows on masks re-picked every 16 reply
# tokens, the rest on the prompt's one mask (the keep-0.5 default since the eighteenth session;
# REPICK2="" is the recipe before it, which the keep-0.33 predictor's stages 1, 2 and 2c used)
REPICK2=${REPICK2---repick 16 --repick-share 0.25}
STAGES=${STAGES:-"1 2 2c 2f"}  # "1", "2", "2c" or "2f" alone: one stage per call, for GPU time in slices
# 2c continues stage 2 (its own weights, a new optimizer) to 1,280 steps with the learning rates
# decayed to 0: the keep-0.5 default since the nineteenth session (docs/results/train_long/)
CONT2=${CONT2---start-step 640 --iters 1280 --eps-start 0.05 --eps-end 0.05 --lr-schedule cosine}
# 2f continues 2c 480 more steps at half the learning rates on the corpus with the facts
# (tools/make_facts.py --corpus, made here if absent): the keep-0.5 default since the
# twenty-ninth session (docs/results/train_facts/)
CONT2F=${CONT2F---start-step 1280 --iters 1760 --eps-start 0.05 --eps-end 0.05 --lr-schedule cosine --learning-rate 1e-4 --predictor-lr 1.5e-3}
FACTS=${FACTS:-$CACHE/data/facts-$(basename "$DATA")}  # the corpus it copies, named after it
RESUME=${RESUME:-0}  # 1: a stage whose output folder holds a checkpoint continues it (--resume)
INIT2=${INIT2:-}  # stage 2 starts from INIT2/k<KEEP>-<ARM> (e.g. float16 packs) instead of stage 1
# (INIT2=none: from the predictor block's init and a new LoRA, with STAGES=2: no stage 1 at all);
# with EXTRA2="--start-step N" it continues that run at step N (docs/anti_collapse.md, 9th session)
GPUS=${GPUS:-}  # e.g. "0 1": the i-th keep runs on GPU i mod n (CUDA_VISIBLE_DEVICES)
read -r -a gpus <<< "$GPUS"
cd "$(dirname "$0")/.."
ARMS=${ARMS:-"rw25 static"}
continued() {  # continued NAME FROM DATA FLAGS: stage NAME from FROM's weights, a new optimizer
  local name=$1 from=$2 data=$3 flags=$4 extra=$EXTRA2
  local init=(--init-from "$dir/$from")  # dir, keep and kind: run_arm's (bash's dynamic scope)
  if [[ $kind == rw* ]]; then extra="$REPICK2 $extra"; fi
  if [ "$RESUME" = 1 ] && [ -f "$dir/stage$name/trainer_state.json" ]; then
    init=(--init-from "$dir/$from" --resume "$dir/stage$name")
  fi
  # shellcheck disable=SC2086
  if ! python -m mlx_ifp finetune -c "$dir/stage2.yaml" --data "$data" --keep "$keep" \
    "${init[@]}" -o "$dir/stage$name" $EXTRA $flags $extra > "$dir/stage$name.log" 2>&1; then
    echo "FAILED $dir stage $name: $(tail -n 1 "$dir/stage$name.log")"; return 1
  fi
}
run_arm() {  # run_arm KEEP ARM: both stages of one arm; a failed stage is reported, not hidden
  local keep=$1 arm=$2 dir="$OUT/k$1-$2" pred
  mkdir -p "$dir"
  # the examples' predictor block is the shipped recipe (rw25); each arm rewrites it
  local kind=${arm%%.*}  # "rw25.rp16": arm rw25, its own run folder (flags differ: EXTRA2)
  case "$kind" in
    route*) pred=("  head: griffin" "  route: griffin" "  shared: 0.${kind#route}") ;;
    rw*) pred=("  head: griffin" "  route: reweight" "  shared: 0.${kind#rw}"
               "  route_bound: ${RW_BOUND:-1.0}") ;;
    static) pred=("  head: static") ;;
    predictor) pred=("  head: griffin" "  factor_rank: 16") ;;
    balanced) pred=("  head: griffin" "  factor_rank: 16" "  balanced: true") ;;
    shared) pred=("  head: griffin" "  factor_rank: 16" "  balanced: true" "  shared: 0.5") ;;
    *) echo "unknown arm $arm" >&2; return 2 ;;
  esac
  local s data init extra from="$dir/stage1"
  [ -z "$INIT2" ] || from="$INIT2/k$keep-$arm"  # a variant without its own pack: its arm's
  [ -z "$INIT2" ] || [ -d "$from" ] || from="$INIT2/k$keep-$kind"
  for s in 1 2; do  # stage 1 on the pretraining split, stage 2 on SFT from stage 1
    sed '/^predictor:/,$d' "examples/ifp_stage$s.yaml" > "$dir/stage$s.yaml"
    printf '%s\n' "predictor:" "  init: static-act" "${pred[@]}" >> "$dir/stage$s.yaml"
    [[ " $STAGES " == *" $s "* ]] || continue
    data="$DATA/pretrain" init=() extra=$EXTRA1
    if [ "$s" = 2 ]; then data="$DATA/sft" extra=$EXTRA2; [ "$INIT2" = none ] || init=(--init-from "$from"); fi
    if [ "$s" = 2 ] && [[ $kind == rw* ]]; then extra="$REPICK2 $extra"; fi  # EXTRA2 can override
    if [ "$RESUME" = 1 ] && [ -f "$dir/stage$s/trainer_state.json" ]; then
      init=(--resume "$dir/stage$s")  # its weights and optimizer state, exactly where it stopped
    fi
    # shellcheck disable=SC2086
    if ! python -m mlx_ifp finetune -c "$dir/stage$s.yaml" --data "$data" --keep "$keep" \
      "${init[@]}" -o "$dir/stage$s" $EXTRA $extra > "$dir/stage$s.log" 2>&1; then
      echo "FAILED $dir stage $s: $(tail -n 1 "$dir/stage$s.log")"; return 1
    fi
  done
  # stage 2 continued: the same YAML and data (2c), then on the corpus with the facts (2f)
  [[ " $STAGES " != *" 2c "* ]] || continued 2c stage2 "$DATA/sft" "$CONT2" || return 1
  [[ " $STAGES " != *" 2f "* ]] || continued 2f stage2c "$FACTS/sft" "$CONT2F" || return 1
  echo "done $dir"
}

# the recipe trains on all five domains: a corpus built without the Debian prose packages has
# no prose (1,982 of the SFT split's 6,166 rows; the forty-second session's device run trained on
# one by mistake, docs/results/train_writing3/): refused, unless PARTIAL=1
absent=$(for d in math code science prose general; do [ -f "$DATA/domains/$d/train.jsonl" ] || echo "$d"; done | tr '\n' ' ')
if [ -n "$absent" ] && [ "${PARTIAL:-0}" != 1 ]; then
  echo "the corpus $DATA has no ${absent% }: rebuild it with the Debian prose packages (mlx_ifp data build says which), or PARTIAL=1" >&2
  exit 2
fi
if [[ " $STAGES " == *" 2f "* ]] && [ ! -d "$FACTS" ]; then  # once, before the keeps run
  python tools/make_facts.py --corpus "$FACTS" --data "$DATA"
fi
i=0
for keep in $KEEPS; do
  (
    if [ ${#gpus[@]} -gt 0 ]; then export CUDA_VISIBLE_DEVICES=${gpus[$((i % ${#gpus[@]}))]}; fi
    for arm in $ARMS; do
      if [ "${SIDE_BY_SIDE:-0}" = 1 ]; then run_arm "$keep" "$arm" & else run_arm "$keep" "$arm" || true; fi
    done
    wait
  ) &
  i=$((i + 1))
done
wait
