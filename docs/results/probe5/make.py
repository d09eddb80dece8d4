"""A four-domain chat probe for issue 12's target 5 (fifth probe, forty-eighth session): 16
prompts per domain written by hand for this check, in the way chat users write (never in the
repository or the corpus), each answered by the dense embedded model (greedy, 128 tokens),
laid out as a corpus folder that tools/eval_ifp.py and tools/eval_task_masks.py score. The
domains sit in the corpus's slots ``math``, ``code``, ``general`` and ``prose`` (writing).

    python docs/results/probe5/make.py -o /tmp/probe5_corpus
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tools"))
from make_general import answer, make_probe  # noqa: E402

MATH = [
    "I bought 3 notebooks at $4.25 each and a pen for $1.80. How much change do I get from a "
    "$20 bill?",
    "What is 17% of 2,340?",
    "My car gets 34 miles per gallon and gas costs $3.59 a gallon. How much will a 510-mile road "
    "trip cost me in fuel?",
    "Compute 48 × 125.",
    "A recipe for 4 people needs 300 g of flour. I'm cooking for 10, so how much flour should I "
    "use?",
    "If I save $150 every month, how many months until I have $2,700?",
    "What's the area of a circle with a radius of 7 cm? Use pi = 3.14.",
    "Solve for x: 5x - 12 = 3x + 18",
    "hey quick one: a shirt is $40 and it's 25% off, then there's 8% sales tax on the discounted "
    "price. what do I actually pay?",
    "A train leaves at 9:15 and travels 180 km at 72 km/h. What time does it arrive?",
    "What is the average of 82, 91, 77, 68 and 95?",
    "I'm tiling a bathroom floor that is 2.4 m by 1.8 m. Each tile is 30 cm by 30 cm. How many "
    "tiles do I need, ignoring waste?",
    "Convert 3/8 to a decimal and to a percentage.",
    "My daughter had 23 marbles and lost 5 at school. Then she gave a third of the rest to her "
    "brother. How many does she have now?",
    "What is 2 to the power of 10 minus 3 squared?",
    "A rectangular garden has a perimeter of 56 meters, and its length is 4 meters more than its "
    "width. What are its length and width?",
]
CODE = [
    "How do I reverse a string in JavaScript?",
    "I need a Python function that finds the second largest number in a list without sorting "
    "the list.",
    "What's the difference between a list and a tuple in Python? When would I pick one over the "
    "other?",
    "This Python code crashes with an IndexError:\n\nfor i in range(len(items)):\n"
    "    print(items[i + 1])\n\nWhat's wrong and how do I fix it?",
    "Write a SQL query that finds the five customers with the highest total order amount, given "
    "tables customers(id, name) and orders(id, customer_id, amount).",
    "Explain what this bash command does: find . -name '*.log' -mtime +7 -delete",
    "In Java, why does == sometimes return false when I compare two strings that look the same?",
    "Can you write a C function that counts the vowels in a null-terminated string?",
    "What is a race condition? Give me a simple example.",
    "My React component re-renders forever after I added a useEffect that calls setState. Why "
    "might that happen?",
    "Write a regular expression that matches a US ZIP code: either 5 digits, or 5 digits plus a "
    "dash and 4 more digits.",
    "Explain Big O notation to a beginner, with an example of O(n) and one of O(n^2).",
    "Turn this loop into a list comprehension:\n\nsquares = []\nfor n in range(10):\n"
    "    if n % 2 == 0:\n        squares.append(n * n)",
    "How do I read a CSV file in Go and print each row?",
    "What does git rebase do, and when should I use it instead of git merge?",
    "Write a Rust function that computes the factorial of a u64 and returns None on overflow.",
]
GENERAL = [
    "Why do onions make you cry when you cut them?",
    "What were the main causes of the fall of the Western Roman Empire?",
    "How did the Panama Canal change shipping between the Atlantic and the Pacific?",
    "How does a vaccine teach the immune system to fight a virus?",
    "I keep waking up at 3am every night. What are some common reasons for that?",
    "How do noise-cancelling headphones actually work?",
    "Why does ice float on water when most solids sink in their own liquid?",
    "Who was Ada Lovelace and why is she famous?",
    "What's the difference between weather and climate?",
    "How much water should an adult drink in a day?",
    "Why do we have leap years?",
    "Why is Iceland mostly green and Greenland mostly ice, when the names suggest the opposite?",
    "How does a refrigerator keep food cold?",
    "Why was Gutenberg's printing press such a big deal?",
    "My phone battery drains much faster in cold weather. Why?",
    "What are tectonic plates, and how do they cause earthquakes?",
]
WRITING = [
    "Please draft a formal complaint to an airline: my suitcase was lost on a flight from Boston "
    "to Lisbon last week and nobody has answered my emails.",
    "our bakery just started selling gluten-free croissants. can you write a fun tweet "
    "announcing it?",
    "Could you write me a sonnet about an old bicycle rusting in the rain?",
    "I need a short LinkedIn post celebrating my team finishing a six-month project. Keep it "
    "humble and thank everyone.",
    "Tell a scary campfire story, under 200 words, about an empty cabin in the woods.",
    "Our family dog Biscuit died yesterday after fourteen years. Can you help me write a few "
    "words to read when we bury him?",
    "Rewrite this so it sounds professional: 'hey, the report's gonna be late cuz we got "
    "swamped this week.'",
    "Write a short scene where two old friends run into each other at an airport after twenty "
    "years apart.",
    "A free-verse poem about the smell of coffee in the morning, please.",
    "Help me write a text to my landlord saying the kitchen sink is leaking and asking when "
    "someone can come and fix it.",
    "Write the back-cover blurb for a fantasy novel about a girl who can talk to storms.",
    "Write an op-ed of about 150 words arguing that public libraries deserve more funding.",
    "My sister just got into medical school! What should I write in her congratulations card?",
    "Draft a launch email for a new budgeting app aimed at college students.",
    "I want a catchy chorus for a song about driving home for the holidays.",
    "Describe a thunderstorm from the point of view of a cat hiding under the bed.",
]
#: the corpus slot of each domain; writing sits in ``prose`` (the corpus format knows five)
DOMAINS = {"math": MATH, "code": CODE, "general": GENERAL, "prose": WRITING}
#: the writing probe's description for ``prose``; math, code and general keep the corpus's own
TASKS = {
    "prose": "You are a creative writer. Write the poem, letter, story or message the user "
    "asks for."
}


def main() -> None:
    make_probe(__doc__, DOMAINS, TASKS, "probe5", answer)


if __name__ == "__main__":
    main()
