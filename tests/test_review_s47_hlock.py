"""Forty-seventh session review: two processes converting the user's own GGUF at once
(``mlx_ifp generate --model file.gguf`` beside ``mlx_ifp serve --model file.gguf``) take turns
on a lock in the cache, as two first runs of the embedded model do: one converts, the other
waits and reads its folder."""

import fcntl
import threading

from mlx_ifp.models import embedded, gguf

from test_gguf import tiny_model as gguf_model
from test_gguf import write_gguf


def set_when_one_waits_on_a_lock(event: threading.Event, monkeypatch) -> None:
    """``event`` is set as a thread starts to wait on a cache lock (a blocking ``flock``): the
    other's chance to start its work too has then ended (it waits, taken by the lock), so a
    test need not wait out its whole window (3 s). Code without the lock never sets it."""
    real = fcntl.flock

    def flock(fd, operation):
        if operation == fcntl.LOCK_EX:  # (LOCK_NB is a try; LOCK_UN lets go)
            event.set()
        return real(fd, operation)

    monkeypatch.setattr(fcntl, "flock", flock)


def two_at_once(convert, module, monkeypatch) -> list:
    """Run ``convert`` in two threads, the second started while the first converts; returns
    the folders of the conversions made (a conversion waits for the other's start, if any,
    or for the other to wait on the lock)."""
    real, calls = module.gguf_to_mlx_lm, []
    both_in, one_at_a_time = threading.Event(), threading.Lock()
    set_when_one_waits_on_a_lock(both_in, monkeypatch)

    def slow_convert(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 2:
            both_in.set()
        both_in.wait(3)  # the other's chance to start converting too (none, once locked)
        with one_at_a_time:
            return real(*args, **kwargs)

    monkeypatch.setattr(module, "gguf_to_mlx_lm", slow_convert)
    folders = []
    runs = [threading.Thread(target=lambda: folders.append(convert()))]
    runs[0].start()
    while not calls:  # the first is converting
        runs[0].join(0.01)
    runs.append(threading.Thread(target=lambda: folders.append(convert())))
    runs[1].start()
    for run in runs:
        run.join()
    assert len(folders) == 2 and folders[0] == folders[1] and gguf.is_converted(folders[0])
    return calls


def test_two_conversions_of_a_users_gguf_at_once_convert_once(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    source = write_gguf(gguf_model(), tmp_path / "mine.gguf")
    calls = two_at_once(lambda: gguf.cached_gguf_folder(source), gguf, monkeypatch)
    assert len(calls) == 1, calls
    assert "Waiting for another process preparing mine.gguf" in capfd.readouterr().err


def test_the_embedded_model_takes_the_same_lock(tmp_path, monkeypatch, capfd):
    """One mechanism: the embedded model's first run waits on the lock the GGUF cache uses."""
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    source = write_gguf(gguf_model(), tmp_path / "tiny.gguf")
    monkeypatch.setattr(embedded, "embedded_gguf", lambda n: source)
    used = []
    real = gguf.cache_lock
    monkeypatch.setattr(embedded, "cache_lock", lambda *a: used.append(a) or real(*a))
    name = "smollm2-135m-instruct"
    calls = two_at_once(lambda: embedded.embedded_folder(name), embedded, monkeypatch)
    assert len(calls) == 1 and len(used) == 2, (calls, used)
    assert f"Waiting for another process preparing {name}" in capfd.readouterr().err
