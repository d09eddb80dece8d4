# The 1.5B lanes' settings, sourced by run.sh and sweep.sh so that the sweep's control and the
# A/B's arms train alike: the environment, the model converted once, and the finetune flags of
# both (stage 2 from static-act, bfloat16, LoRA rank 16, 8 x 4 rows, eager). Each caller adds
# --max-seconds and its rates.
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
tail -n 2 /tmp/setup.log 2>/dev/null
python3 -c "from mlx_ifp.models.embedded import embedded_folder as f; print(f('qwen2.5-coder-1.5b-instruct', dequantize=True))" 2>&1 | tail -n 1
export INIT2=none STAGES=2 REPICK2=""
# --lora-layers -1: all 28 layers (the examples' lora_layers 30 did that until the forty-sixth
# session, which refuses more LoRA layers than the model has; a run of 30 resumes with -1)
export EXTRA="--model qwen2.5-coder-1.5b-instruct --dequantize --dtype bfloat16 --lora-rank 16 --lora-layers -1"
Q15_EXTRA2="--batch-size 8 --grad-accumulation 4 --compile false --iters 2000 --eps-steps 200 --val-every 25 --save-every 50"
