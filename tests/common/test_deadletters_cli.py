"""The service command's `deadletters` part answers its own `--help`."""

from __future__ import annotations

import pytest

from services.common import cli
from services.notifier.__main__ import SERVICE


def test_deadletters_help_lists_its_commands(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(SERVICE, ["deadletters", "--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m services.notifier deadletters")
    for command in ("list", "show", "replay", "purge"):
        assert f"    {command} " in out, command


def test_a_deadletters_command_gets_its_own_options(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(SERVICE, ["deadletters", "show", "--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    assert "python -m services.notifier deadletters show" in out and "--id" in out
