"""What `yiwang --help` and its commands' help tell an operator."""

from __future__ import annotations

import pytest

from broker.access import ROLES
from yiwang.cli import parser


def test_broker_help_names_every_role_a_service_account_may_have(capsys: pytest.CaptureFixture[str]) -> None:
    # The README's roles and the broker's (broker/access.py) are those the help names: an operator reads them there.
    with pytest.raises(SystemExit):
        parser().parse_args(["broker", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for role in ROLES:
        assert role in help_text, role
