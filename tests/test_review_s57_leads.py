"""Small leads left by the fifty-seventh session's reviews; each test failed before its fix:

- ``serve``: ``max_tokens`` beside a different ``max_completion_tokens`` was taken silently (the
  latter won), where ``n_predict`` beside either with another value is a 400: one setting, two
  values, so a client's mistake went unseen.
"""

from mlx_ifp.serve.schemas import APIError, Limits, parse_request

import pytest

TEXT = {"prompt": "hello"}


def test_max_tokens_and_max_completion_tokens_that_differ_are_a_400():
    """Was a 200 with ``max_completion_tokens``' value; ``n_predict`` beside either is a 400."""
    for body in (
        {"max_tokens": 9, "max_completion_tokens": 2},
        {"max_tokens": 2, "max_completion_tokens": 9},
    ):
        with pytest.raises(APIError) as err:
            parse_request({**TEXT, **body}, chat=False, limits=Limits())
        assert err.value.status == 400 and err.value.param == "max_tokens"
        assert (
            "'max_tokens'" in err.value.message and "'max_completion_tokens'" in err.value.message
        )
    for body, want in (  # the same value under both names, or either alone, is taken
        ({"max_tokens": 3, "max_completion_tokens": 3}, 3),
        ({"max_tokens": 4, "max_completion_tokens": None}, 4),
        ({"max_completion_tokens": 5}, 5),
        ({"n_predict": 6, "max_tokens": 6, "max_completion_tokens": 6}, 6),
    ):
        assert parse_request({**TEXT, **body}, chat=False, limits=Limits()).max_tokens == want
