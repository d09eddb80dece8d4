"""How an app uses mlx_ifp: load once, pick a task's mask once, answer many prompts fast.

python examples/task_app.py
"""

import mlx_ifp

TASK = "You are a helpful geography tutor. Answer questions about countries and capitals."
QUESTIONS = [
    "What is the capital of France?",
    "Which river flows through Cairo?",
    "Name the largest country in South America.",
]

# 1. Load the resident source model (the embedded SmolLM2-135M-Instruct; any mlx-lm model,
#    Hugging Face repo or .gguf file works the same way).
model, tokenizer = mlx_ifp.load("smollm2-135m-instruct")

# 2. A Pruner holds the source model, a mask source and a budget, and caches slim models. With
#    no source it takes the model's own: for the embedded model, the predictor + LoRA trained
#    for it and shipped in the package (source="griffin" prunes training-free instead).
pruner = mlx_ifp.Pruner(model, tokenizer, keep=0.5)

# 3. The task's slim model is selected and sliced once; later calls are cache hits.
for question in QUESTIONS:
    slim, info = pruner.slim_for(TASK)
    print(f"\n> {question}")
    for response in mlx_ifp.stream_generate(
        model, tokenizer, question, 60, task=TASK, pruner=pruner
    ):
        print(response.text, end="", flush=True)
    print(
        f"\n[{'cache hit' if info.cache_hit else 'selected'}: "
        f"{info.active_params / 1e6:.0f}M of {info.source_params / 1e6:.0f}M parameters active, "
        f"select {info.select_s * 1e3:.0f} ms, slice {info.slice_s * 1e3:.0f} ms, "
        f"decode {response.generation_tps:.0f} tok/s]"
    )

# 4. Keep the task's mask for next time (or ship it with the app), and export its slim model
#    as a plain mlx-lm folder if you want to run it without mlx_ifp.
#    A saved mask brings back the LoRA of the predictor that picked it.
info.mask.save("geography_mask")
mask = mlx_ifp.Mask.load("geography_mask.safetensors", model)
print("\n> What is the capital of Japan?")
print(mlx_ifp.generate(model, tokenizer, "What is the capital of Japan?", max_tokens=30, mask=mask))
slim, _ = mlx_ifp.select(model, tokenizer, mask=mask)
print(f"wrote {mlx_ifp.export(slim, tokenizer, 'geography_slim', mask=mask)} (mlx_lm loads it)")
