# The dense model's greedy replies to the set-7 prompts, on the GPU machine: set 6's answer.sh
# with S=7 (its prompts here, $OUT/answers and /tmp/chat7_answers on the machine):
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; bash docs/results/train_chat7/answer.sh
S=7 exec bash docs/results/train_chat6/answer.sh "$@"
