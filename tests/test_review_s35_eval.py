"""GSM8K answer reading (thirty-fifth session).

- "The answer is 5 + 3 = 8." read as 5: the first number after the marker, though the sentence
  works the sum out to 8. The number after the last "=" of the marker's sentence is the answer.
"""

from mlx_ifp.evaluation.sandbox import exact_match, final_number

import pytest


@pytest.mark.parametrize(
    "reply, answer",
    [
        ("So the answer is 5 + 3 = 8.", "8"),
        ("The answer is: 12 * 3 = $36.\nThat is a lot of money: 100 = 10 * 10", "36"),
        ("#### 4 + 4 = 8", "8"),
        ("\\boxed{6 \\times 7 = 42}", "42"),
        ("The answer is 2.5. Then 1 = 1.", "2.5"),  # "=" after the sentence: not the answer
        ("The answer is 18.", "18"),
        ("She pays 3 + 4 = 7 dollars, so 7 * 2 = 14", "14"),  # no marker: the last number
    ],
)
def test_the_number_a_worked_out_answer_ends_with(reply, answer):
    assert final_number(reply) == answer
    assert exact_match(reply, answer)
