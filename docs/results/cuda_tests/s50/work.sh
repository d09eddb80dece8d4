# The forty-eighth session's two test mends (not yet re-run on a GPU) and the forty-ninth and
# fiftieth sessions' review tests on CUDA; logs to $OUT. After tools/device_parts.sh (the
# checkout slimmed to this folder of docs/results), in the last call:
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; T=420 bash docs/results/cuda_tests/s50/work.sh
set -u
sp=$(python3 -c "import site;print(site.getsitepackages()[0])"); echo /tmp/site > "$sp/zz_mlx_site.pth" 2>/dev/null || echo "no .pth ($sp)"
export MLX_ENABLE_TF32=0
T=${T:-420}
nvidia-smi --query-gpu=name,memory.used --format=csv > $OUT/gpu.txt 2>&1
python3 -c "import mlx.core as mx, pytest, xdist; print(mx.__version__, mx.default_device(), pytest.__version__, xdist.__version__)" >> $OUT/gpu.txt 2>&1
( time python3 -m mlx_ifp generate -p "What is the capital of France?" -m 24 ) >> $OUT/gpu.txt 2>&1
start=$(date +%s)
mends="tests/test_review_s47_hsrv4.py::test_serve_takes_chat_template_args"
mends="$mends tests/test_review_s48_hmlxlm.py::test_kv_bits_with_a_dense_prefill_is_mlx_lms_reply_at_keep_1"
for spec in "mends:2:$mends" "review:10:$(ls tests/test_review_s49_*.py tests/test_review_s50_*.py | tr '\n' ' ')"; do
  IFS=: read name n files <<< "$spec"
  ( timeout $((T - ($(date +%s) - start))) python3 -m pytest -p no:cacheprovider -rfE -n $n --durations=10 $files > $OUT/$name.log 2>&1; echo "rc $?" >> $OUT/$name.log ) &
done
wait
tail -n 4 $OUT/*.log
