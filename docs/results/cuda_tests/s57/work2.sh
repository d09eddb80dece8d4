# The second call of the fifty-seventh session on CUDA: this session's review tests (the fixes of
# the first call's findings among them), the first call's failures that were not a missing file,
# and regbytes.py on the real model; logs to $OUT. After tools/device_parts.sh (the checkout
# slimmed, the serve extra's wheels as WHEELS=...), in the last call:
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; T=400 bash docs/results/cuda_tests/s57/work2.sh
set -u
sp=$(python3 -c "import site;print(site.getsitepackages()[0])"); echo /tmp/site > "$sp/zz_mlx_site.pth" 2>/dev/null || echo "no .pth ($sp)"
export MLX_ENABLE_TF32=0
T=${T:-400}
nvidia-smi --query-gpu=name,memory.used --format=csv > $OUT/gpu2.txt 2>&1
start=$(date +%s)
again="tests/test_review_s52_hregbytes.py tests/test_review_s52_hcliext.py tests/test_review_s56_lanes.py"
s57=$(ls tests/test_review_s57_*.py | tr '\n' ' ')
( timeout $((T - 10)) python3 docs/results/cuda_tests/s57/regbytes.py -o $OUT/regbytes_cuda.json > $OUT/regbytes.log 2>&1; echo "rc $?" >> $OUT/regbytes.log ) &
for spec in "again:3:$again" "s57:8:$s57"; do
  IFS=: read name n files <<< "$spec"
  ( timeout $((T - ($(date +%s) - start))) python3 -m pytest -p no:cacheprovider -rfEs -n $n --durations=10 $files > $OUT/$name.log 2>&1; echo "rc $?" >> $OUT/$name.log ) &
done
wait
tail -n 4 $OUT/*.log
