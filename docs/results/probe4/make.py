"""A four-domain probe for issue 12's target 5: 12 prompts per domain (math, code, general
knowledge, writing), written by hand for this check in the forty-eighth session (never in any
training split, never used for a choice), each answered by the dense embedded model (greedy, 128
tokens), laid out as a corpus folder that tools/eval_ifp.py and tools/eval_task_masks.py score.
The corpus format names its domains, so the items sit in the slots ``math``, ``code``,
``general`` and ``prose`` (writing), with this probe's own task descriptions (``tasks.json``).

    python docs/results/probe4/make.py -o /tmp/probe4_corpus
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tools"))
from make_general import answer, make_probe  # noqa: E402

MATH = [
    "What is 15% of 80?",
    "Solve for x: 3x + 7 = 22.",
    "I drove 180 miles and used 6 gallons of gas. How many miles per gallon did I get?",
    "A jacket costs $60 and is on sale for 25% off. How much do I pay?",
    "What is the square root of 144?",
    "Sarah has three times as many marbles as Tom. Together they have 48. How many does Sarah "
    "have?",
    "Convert 5/8 to a decimal and to a percentage.",
    "What is the area of a circle with a radius of 4 cm?",
    "Simplify 2(x + 3) - 4x + 5.",
    "A recipe uses 2 cups of flour for 12 cookies. How much flour do I need for 30 cookies?",
    "What is the least common multiple of 12 and 18?",
    "If I put $1,000 in a savings account at 5% simple interest per year, how much interest do "
    "I have after 3 years?",
]
CODE = [
    "Write a Python function that returns the second largest number in a list.",
    "Write a Python function that checks whether two words are anagrams of each other.",
    "What does this line print, and why?\n\nprint([x * x for x in range(10) if x % 2 == 0])",
    "This function gives the wrong answer when every number in the list is negative. Why, and "
    "how do I fix it?\n\ndef find_max(nums):\n    best = 0\n    for n in nums:\n"
    "        if n > best:\n            best = n\n    return best",
    "Write a Python function that counts how many times each word appears in a sentence.",
    "How do I read a CSV file in Python and print each row?",
    "What is the difference between a list and a tuple in Python?",
    "Write a Python function that removes duplicates from a list but keeps the original order.",
    "Write a SQL query that finds the five customers with the highest total order amount.",
    "Why does this raise an error, and how do I fix it?\n\nnumbers = [1, 2, 3]\nprint(numbers[3])",
    "Write a Python function that converts a temperature from Celsius to Fahrenheit.",
    "Write a JavaScript function that reverses the order of the words in a sentence.",
]
GENERAL = [
    "Why is the sky blue?",
    "How do vaccines work?",
    "What were the main reasons the Western Roman Empire fell?",
    "Why is the Dead Sea so salty?",
    "How does a microwave oven heat food?",
    "Why do we have leap years?",
    "What is the difference between weather and climate?",
    "Who was Marie Curie and what is she known for?",
    "Why does bread go stale?",
    "How do airplanes stay in the air?",
    "Which countries does the Andes mountain range run through?",
    "Why do onions make you cry when you cut them?",
]
WRITING = [
    "Rewrite this message so it sounds professional: 'hey, can u send me the report asap? thx'",
    "Write a job posting for a part-time barista at a small neighborhood cafe.",
    "Write a LinkedIn post announcing that I just started a new job as a data analyst.",
    "Write a short introduction for my grandmother's apple pie recipe, the kind you see on a "
    "food blog.",
    "Write a rhyming poem of four short stanzas about friendship.",
    "Summarize the story of Cinderella in three sentences.",
    "Write a slogan and a one-paragraph pitch for a folding electric bicycle.",
    "Write a text message inviting my friends to watch the football game at my place on Saturday.",
    "Write a horror story in exactly five sentences.",
    "Write an out-of-office email reply for while I'm on vacation until June 10.",
    "Write a short bio for my website: I'm a freelance photographer in Lisbon who loves street "
    "photography.",
    "Write a condolence message to a coworker whose father just passed away.",
]
PROMPTS = {"math": MATH, "code": CODE, "general": GENERAL, "prose": WRITING}
TASKS = {
    "math": "You are a patient math tutor. Answer the arithmetic, percentage or algebra question, "
    "show the working, and give the final answer.",
    "code": "You are an expert programmer. Write, explain or fix the code the user asks about.",
    "general": "You are a helpful assistant with broad general knowledge. Answer the question "
    "about science, history, geography or everyday life accurately and clearly.",
    "prose": "You are a skilled writer. Write the text the user asks for, in the form and tone "
    "they ask for.",
}


def main() -> None:
    make_probe(__doc__, PROMPTS, TASKS, "probe4", answer)


if __name__ == "__main__":
    main()
