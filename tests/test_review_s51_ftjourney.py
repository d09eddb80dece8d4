"""`mlx_ifp finetune` walked as a user coming from `mlx_lm lora` (fifty-first session review):
each case was a traceback or a many-line error where one `Error:` line belongs."""

import pytest

from mlx_ifp import UsageError
from mlx_ifp.train import load_config

#: (id, the config file's bytes, fragments of the one error line)
BAD_YAML = [
    ("unclosed-list", b"iters: [1\n", ("bad.yaml", "line 2")),
    ("bad-indent", b"iters: 1\n  bad: indent\n", ("bad.yaml", "line 2")),
    ("tab-indent", b"predictor:\n\tlayers: 2\n", ("bad.yaml", "line 2")),
    ("latin-1", b"iters: 1\n# caf\xe9\n", ("bad.yaml", "UTF-8")),
]


@pytest.mark.parametrize("text, fragments", [c[1:] for c in BAD_YAML], ids=[c[0] for c in BAD_YAML])
def test_a_broken_config_file_is_one_line(tmp_path, text, fragments):
    """PyYAML's message runs over 4-6 lines (with the file called "<unicode string>"), and a
    file that is not UTF-8 raised UnicodeDecodeError (a traceback from the CLI)."""
    path = tmp_path / "bad.yaml"
    path.write_bytes(text)
    with pytest.raises(UsageError) as err:
        load_config(path)
    said = str(err.value)
    assert "\n" not in said, said
    assert "<unicode string>" not in said, said
    for fragment in fragments:
        assert fragment in said, said
