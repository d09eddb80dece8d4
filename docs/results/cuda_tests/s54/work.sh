# The review tests written since the fiftieth session's CUDA run (../s50/), and the files of that
# run and the forty-eighth session's two mends that need the serve extra, on CUDA; logs to $OUT.
# (../s51/'s plan, never run, widened to the fifty-second to fifty-sixth sessions' files.)
# The serve extra's wheels (starlette, uvicorn, pyyaml, openai and their dependencies, cp312)
# travel as WHEELS=... to tools/device_parts.sh. After it (the checkout slimmed), in the last call:
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; T=300 bash docs/results/cuda_tests/s54/work.sh
set -u
sp=$(python3 -c "import site;print(site.getsitepackages()[0])"); echo /tmp/site > "$sp/zz_mlx_site.pth" 2>/dev/null || echo "no .pth ($sp)"
export MLX_ENABLE_TF32=0
T=${T:-300}
nvidia-smi --query-gpu=name,memory.used --format=csv > $OUT/gpu.txt 2>&1
python3 -c "import mlx.core as mx, pytest, xdist, starlette, openai; print(mx.__version__, mx.default_device(), pytest.__version__, xdist.__version__, starlette.__version__, openai.__version__)" >> $OUT/gpu.txt 2>&1
start=$(date +%s)
mends="tests/test_review_s47_hsrv4.py::test_serve_takes_chat_template_args"
mends="$mends tests/test_review_s48_hmlxlm.py::test_kv_bits_with_a_dense_prefill_is_mlx_lms_reply_at_keep_1"
serve="tests/test_review_s49_hdiff.py tests/test_review_s49_hpath.py tests/test_review_s50_hapikey.py"
serve="$serve tests/test_review_s50_hhelp.py tests/test_review_s50_hreadme.py tests/test_review_s50_hreview.py"
new=$(ls tests/test_review_s5[1-6]_*.py | tr '\n' ' ')
for spec in "mends:2:$mends" "serve:4:$serve" "new:8:$new"; do
  IFS=: read name n files <<< "$spec"
  ( timeout $((T - ($(date +%s) - start))) python3 -m pytest -p no:cacheprovider -rfEs -n $n --durations=10 $files > $OUT/$name.log 2>&1; echo "rc $?" >> $OUT/$name.log ) &
done
wait
tail -n 4 $OUT/*.log
