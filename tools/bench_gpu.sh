#!/bin/bash
# The GPU figures of docs/performance.md. On the device: PYTHONPATH=<mlx site>:$PWD, OUT set.
# Usage: bash tools/bench_gpu.sh micro|all
case "${1:-}" in
  micro|all) ;;
  -h|--help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0 ;;  # the head of this file; nothing run
  *) echo "usage: bash tools/bench_gpu.sh micro|all" >&2; exit 2 ;;
esac
O=${OUT:-runs/gpu}
mkdir -p "$O"
B="python -m mlx_ifp.bench --prompt-tokens 512 --gen-tokens 128 --trials 3"
run() { local name=$1 t=$2; shift 2; timeout "$t" $B "$@" -o "$O/$name.json" > "$O/$name.log" 2>&1; }
case "$1" in
  micro)
    timeout 150 python tools/bench_ffn_widths.py -o "$O/gpu_ffn_widths_8b.json" > "$O/ffn.log" 2>&1
    ;;
  all)  # the runs quoted in docs/performance.md (about 8 minutes on a warm H200)
    run gpu_8b 150 --preset 8b --keep 0.333 --variants abcdef
    run gpu_8b_t5 150 --preset 8b --keep 0.333 --keep 16 --variants acf --trials 5
    run gpu_8b_sweep 110 --preset 8b --keep 0.5 --keep 0.25 --keep 16 --variants acf
    run gpu_8b_align128 60 --preset 8b --keep 0.333 --align 128 --variants cf
    run gpu_8b_align64 90 --preset 8b --keep 0.333 --align 64 --keep 0.334 --variants cf --trials 5
    run gpu_1b 100 --preset 1b --keep 0.25 --keep 0.333 --keep 0.5 --keep 0.75 --variants abcdf
    run gpu_135m 60 --preset 135m --keep 0.25 --keep 0.5 --keep 0.75 --variants abcdf
    run gpu_1b_q4_align64 60 --preset 1b --keep 0.333 --align 64 --variants g --gen-tokens 64
    timeout 60 python tools/bench_ffn_widths.py --quantized --widths 14336,4736 \
      -o "$O/gpu_q4_gemm_8b.json" > "$O/gpu_q4_gemm_8b.log" 2>&1
    ;;
esac
