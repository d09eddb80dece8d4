"""The fifty-sixth session's new-user pass over README's quick start and every command's --help.

`-h`, the help flag of `mlx_lm generate`, `mlx_lm chat` (argparse) and llama-cli, which README
says our commands take the flags of: before the fix `mlx_ifp -h` and `mlx_ifp generate -h` were
"Error: No such option: -h" and exit code 2 (only `--help` was known).
"""

from mlx_ifp.cli import main

import pytest

COMMANDS = ["generate", "chat", "export", "convert", "info", "finetune", "eval", "bench"]
COMMANDS += ["plot", "serve", "data", "data build"]


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_dash_h_is_help_as_in_mlx_lm_and_llama_cli(command, capsys):
    args = [*command.split(), "-h"]
    with pytest.raises(SystemExit) as done:
        main(args, prog_name="mlx_ifp")
    out = capsys.readouterr()
    assert done.value.code == 0, out.err
    assert "Usage: mlx_ifp" in out.out and "Error" not in out.err
    with pytest.raises(SystemExit):  # the same screen as --help
        main([*command.split(), "--help"], prog_name="mlx_ifp")
    assert capsys.readouterr().out == out.out


@pytest.mark.parametrize("command", [[], ["data"]])
def test_a_bare_command_shows_its_help_once(command, capsys):
    """`mlx_ifp` and `mlx_ifp data` printed the help screen twice (typer's rich help is printed
    while the no-arguments error is made, then ``main`` ran the app again to show it)."""
    with pytest.raises(SystemExit) as done:
        main(command, prog_name="mlx_ifp")
    out = capsys.readouterr()
    assert done.value.code == 2  # typer's, unchanged
    assert (out.out + out.err).count("Usage: mlx_ifp") == 1, out.out + out.err
    assert "Error" not in out.err
