"""Forty-third session: outputs where no file can be made, though ``os.access`` says yes."""

import os

from mlx_ifp import UsageError
from mlx_ifp.common import check_writable

import pytest


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_an_output_in_proc_is_refused_before_any_work():
    # as root os.access(W_OK) is true for /proc, where no file can be made: the mask was
    # written only after the whole generation, as a FileNotFoundError traceback
    with pytest.raises(UsageError, match=r"cannot write /proc/x\.safetensors"):
        check_writable("/proc/x.safetensors")


def test_a_writable_folder_is_left_as_it_was(tmp_path):
    assert check_writable(tmp_path / "m.safetensors") == tmp_path / "m.safetensors"
    assert list(tmp_path.iterdir()) == []  # the probe leaves nothing behind
