"""GSM8K answer reading (sixtieth session): replies the reader miscounted.

- "The answer is 8, since 5 - 2 = 3." read 3: the "=" rule took the number after the last "="
  of the marker's sentence, though the "=" belongs to a later clause. A comma before a word, or
  a clause word (since, because, as, which, while, but), now ends the answer's expression.
- ".5", "$.50" read 5 and 50: a number had to start with a digit.
- "Answer:" followed by a numbered list read the list's "1".
"""

from mlx_ifp.evaluation.sandbox import exact_match, final_number

import pytest


@pytest.mark.parametrize(
    "reply, answer",
    [
        ("The answer is 8, since 5 - 2 = 3.", "8"),
        ("The answer is 8 because 2 + 1 = 3 more came later.", "8"),
        ("So the answer is 12, which is 4 * 3 = 12 apples.", "12"),
        ("The answer is .5 of the cake.", "0.5"),
        ("Each one costs $.50 so the answer is $.50", "0.5"),
        ("The answer is -.25", "-0.25"),
        ("Answer:\n1. She has 3 apples.\n2. She buys 4 more.\nSo she has 7.", "7"),
    ],
)
def test_the_answer_not_a_later_clause(reply, answer):
    assert final_number(reply) == answer
    assert exact_match(reply, answer)


@pytest.mark.parametrize(
    "reply, answer",  # the readings the change keeps (the thirty-fifth session's rule)
    [
        ("So the answer is 5 + 3 = 8.", "8"),
        ("The answer is: 12 * 3 = $36.\nThat is a lot of money: 100 = 10 * 10", "36"),
        ("The answer is $1,250.", "1250"),
        ("Therefore the answer is: $\\boxed{1,080}$ cents, or 10.8 dollars.", "1080"),
        ("The answer is 4 + 4 = 8, since she had 4.", "8"),
        ("Answer: 42", "42"),
        ("It costs 0.5 dollars.", "0.5"),
        ("The answer is .0", "0"),
        ("The answer is 0.0", "0"),
        ("The answer is 100.00", "100"),
        ("The final answer is:\n\n$18$\n\nThis is because 16 - 3 - 4 = 9 eggs at $2 each.", "18"),
        ("The answer is\n42 apples, and 3 pears were left.", "42"),
    ],
)
def test_worked_out_answers_still_read(reply, answer):
    assert final_number(reply) == answer
