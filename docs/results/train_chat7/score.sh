# After the rw25.c7 lane: set 6's score.sh with S=7: set 7's replies into $OUT first
# (answers_c7.tgz), the candidate's float16 pack at LoRA scale 17, the rule's parts 1-3 for the
# shipped rw25.c6 and the candidate rw25.c7 (set 7's held-out forms, the corpus's five validation
# domains, sets 6, 5 and 4's held-out forms), then the test: probe5 for both and the corpus's
# every test item for rw25.c7. NO_STATIC=0 trains static.c7 beside it (../train_chat6/staticc6).
S=7 exec bash docs/results/train_chat6/score.sh "$@"
