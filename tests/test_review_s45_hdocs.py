"""Forty-fifth session review of the user-facing documentation against the code (hdocs).

Bugs found:
- A trained predictor used from the Python API at another budget than it was trained for
  (``mlx_ifp.select(..., keep=32)``, ``Pruner(model, tok, keep=0.4)``) warned "... (--keep 48
  uses the trained one)": the command line's flag, which an API user has no use for. The
  warning now names the budget without a flag ("keep 48 uses the trained one"), right for the
  API, for ``generate --keep`` and for ``export --keep`` (which prints the API's warning).

Tiny random llama (the same world as ``test_review_s33_hunt``: a predictor trained at k = 48).
"""

import warnings

import mlx_ifp

import pytest
from test_export_own_source import PROMPT
from tiny import finetune_folder, save_folder, tiny_model


@pytest.fixture(scope="module")
def frozen(tmp_path_factory):
    root = tmp_path_factory.mktemp("s45hdocs")
    folder = save_folder(tiny_model("llama"), root / "model")
    bare, _ = mlx_ifp.load(str(folder))
    adapter = finetune_folder(bare, root / "frozen", 48, train="frozen")
    return mlx_ifp.load(str(folder), adapter_path=str(adapter))


def test_the_api_keep_mismatch_warning_names_no_command_line_flag(frozen):
    model, tok = frozen
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mlx_ifp.select(model, tok, PROMPT, mask_source="predictor", keep=32)
    said = [str(w.message) for w in caught if "trained to keep 48" in str(w.message)]
    assert len(said) == 1, [str(w.message) for w in caught]
    assert "--keep" not in said[0], said[0]  # was: "(--keep 48 uses the trained one)"
    assert "keep 48 uses the trained one" in said[0]
