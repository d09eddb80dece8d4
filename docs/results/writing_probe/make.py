"""A writing probe for issue 12's target 5: 32 writing instructions written for this check (never
in any training split), each answered by the dense embedded model (greedy, 128 tokens), laid out
as a one-domain corpus folder that tools/eval_ifp.py and tools/eval_task_masks.py score. The
corpus format knows five domains, so the writing items sit in the `prose` slot of this folder
(`--domains prose`; its task description is the writing one below).

    python docs/results/writing_probe/make.py -o /tmp/writing_corpus
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tools"))
from make_general import answer, make_probe  # noqa: E402

PROMPTS = [
    "Write a short poem about autumn leaves.",
    "Write a thank-you note to a teacher who helped you learn to read.",
    "Write a two-paragraph story about a lighthouse keeper who finds a message in a bottle.",
    "Write a product description for a reusable water bottle.",
    "Write a persuasive paragraph on why cities should plant more trees.",
    "Write an email to a colleague asking to move a meeting to Thursday.",
    "Write a limerick about a cat who loves to sleep.",
    "Write the opening paragraph of a mystery novel set on a train.",
    "Write a short speech for a friend's wedding toast.",
    "Write a haiku about the first snow of winter.",
    "Write a letter to your future self, ten years from now.",
    "Write a cover letter opening for a job as a library assistant.",
    "Write a short review of a restaurant that serves the best pancakes in town.",
    "Write a bedtime story about a small dragon who is afraid of the dark.",
    "Write a paragraph describing a busy market in the morning.",
    "Write a motivational message for a student before an exam.",
    "Write a short blog post about the joys of gardening.",
    "Write a dialogue between a robot and a child meeting for the first time.",
    "Write an apology message to a neighbour for a noisy party.",
    "Write a travel diary entry about a day at the beach.",
    "Write a short fable with a moral about patience.",
    "Write a birthday card message for a grandmother turning ninety.",
    "Write a paragraph describing the sound of rain on a tin roof.",
    "Write an invitation to a community picnic in the park.",
    "Write a short poem about the city at night.",
    "Write a newsletter paragraph announcing a new school library.",
    "Write a description of an old bookshop for a novel.",
    "Write a farewell message to a coworker who is retiring.",
    "Write a short story that begins with the sentence: The door was already open.",
    "Write a paragraph arguing that everyone should learn to cook.",
    "Write a children's rhyme about counting stars.",
    "Write a short monologue of a tree that has stood for a hundred years.",
]
TASK = "You are a creative writer. Write the poem, letter, story or message the user asks for."


def main() -> None:
    make_probe(__doc__, {"prose": PROMPTS}, {"prose": TASK}, "writing_probe", answer)


if __name__ == "__main__":
    main()
