# The fiftieth session's leftovers and the fifty-first session's review tests on CUDA; logs to $OUT.
# The serve extra's wheels (starlette, uvicorn, pyyaml, openai and their dependencies, cp312)
# travel as WHEELS=... to tools/device_parts.sh, so the files that import them are collected this
# time. After tools/device_parts.sh (the checkout slimmed to this folder of docs/results), in the
# last call:
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; T=400 bash docs/results/cuda_tests/s51/work.sh
set -u
sp=$(python3 -c "import site;print(site.getsitepackages()[0])"); echo /tmp/site > "$sp/zz_mlx_site.pth" 2>/dev/null || echo "no .pth ($sp)"
export MLX_ENABLE_TF32=0
T=${T:-400}
nvidia-smi --query-gpu=name,memory.used --format=csv > $OUT/gpu.txt 2>&1
python3 -c "import mlx.core as mx, pytest, xdist, starlette, openai; print(mx.__version__, mx.default_device(), pytest.__version__, xdist.__version__, starlette.__version__, openai.__version__)" >> $OUT/gpu.txt 2>&1
start=$(date +%s)
mends="tests/test_review_s47_hsrv4.py::test_serve_takes_chat_template_args"
mends="$mends tests/test_review_s48_hmlxlm.py::test_kv_bits_with_a_dense_prefill_is_mlx_lms_reply_at_keep_1"
serve="tests/test_review_s49_hdiff.py tests/test_review_s49_hpath.py tests/test_review_s50_hapikey.py"
serve="$serve tests/test_review_s50_hhelp.py tests/test_review_s50_hreadme.py tests/test_review_s50_hreview.py"
for spec in "mends:2:$mends" "serve:6:$serve" "s51:4:$(ls tests/test_review_s51_*.py | tr '\n' ' ')"; do
  IFS=: read name n files <<< "$spec"
  ( timeout $((T - ($(date +%s) - start))) python3 -m pytest -p no:cacheprovider -rfEs -n $n --durations=10 $files > $OUT/$name.log 2>&1; echo "rc $?" >> $OUT/$name.log ) &
done
wait
tail -n 4 $OUT/*.log
