# The fifty-eighth session's call on CUDA: the prefill_ended measurement, and the slot count of
# serve's registry (models.allocated_bytes) against MLX's active memory; logs to $OUT. After
# tools/device_parts.sh (the checkout slimmed, the serve extra's wheels as WHEELS=...), last call:
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; T=540 bash docs/results/cuda_tests/s58/work.sh
set -u
sp=$(python3 -c "import site;print(site.getsitepackages()[0])"); echo /tmp/site > "$sp/zz_mlx_site.pth" 2>/dev/null || echo "no .pth ($sp)"
export MLX_ENABLE_TF32=0
T=${T:-540}
nvidia-smi --query-gpu=name,memory.used --format=csv > $OUT/gpu.txt 2>&1
cp /tmp/setup.log $OUT/ 2>/dev/null
( timeout $((T - 10)) python3 docs/results/prefill_ended/ended_prefill.py -n 12 -o $OUT/ended.json > $OUT/ended.log 2>&1; echo "rc $?" >> $OUT/ended.log ) &
( timeout 300 python3 docs/results/cuda_tests/s57/regbytes.py -o $OUT/regbytes_cuda.json > $OUT/regbytes.log 2>&1; echo "rc $?" >> $OUT/regbytes.log
  timeout 200 python3 -m pytest -p no:cacheprovider -rfEs -q tests/test_review_s58_allocated.py tests/test_review_s52_hregbytes.py > $OUT/alloc.log 2>&1; echo "rc $?" >> $OUT/alloc.log ) &
wait
tail -n 12 $OUT/*.log
