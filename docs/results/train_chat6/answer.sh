# The dense model's greedy replies to the set-6 prompts, on the GPU machine (after
# tools/device_parts.sh's calls): . .dvm3/setup.sh > /tmp/setup.log 2>&1; bash docs/results/train_chat6/answer.sh
# Greedy, 128 tokens at most, float32 (make_chat.py's answer step, as sets 4 and 5). Resumable
# (answers/partial.jsonl): a call cut short leaves its rows under $OUT/answers. The replies are
# also kept on the machine (/tmp/chat6_answers) for start.sh in a later call.
# S=7 (../train_chat7/answer.sh) does the same for set 7: its prompts, /tmp/chat7_answers.
set -u
S=${S:-6}  # the set: 6 (as run in the fifty-fifth session) or 7
case $S in 6|7) ;; *) echo "answer.sh: S is 6 or 7" >&2; exit 2 ;; esac
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1 MLX_ENABLE_TF32=0
tail -n 2 /tmp/setup.log 2>/dev/null
nvidia-smi --query-gpu=name --format=csv,noheader > $OUT/gpu.txt 2>&1
mkdir -p $OUT/answers /tmp/chat${S}_answers
cp /tmp/chat${S}_answers/* $OUT/answers/ 2>/dev/null
( time python3 tools/make_chat$S.py answer --prompts docs/results/train_chat$S/prompts.jsonl \
    -o $OUT/answers --batch ${BATCH:-128} ) > $OUT/answer.log 2>&1
cp $OUT/answers/* /tmp/chat${S}_answers/
tail -n 4 $OUT/answer.log; ls -la $OUT/answers
