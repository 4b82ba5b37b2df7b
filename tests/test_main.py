"""``python -m minibayes demo NAME``: dispatch to demos/NAME.py with the remaining arguments."""

from __future__ import annotations

import minibayes.__main__ as cli


def test_demo_command_lists_the_demos_and_refuses_unknown_names(capsys):
    assert "distributions" in cli.available_demos()
    assert cli.main(["demo", "no_such_demo"]) == 2
    error = capsys.readouterr().err
    assert "no demo named 'no_such_demo'" in error and "distributions" in error


def test_demo_command_passes_its_options_to_the_demo(tmp_path):
    assert cli.main(["demo", "distributions", "--quick", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "beta_bernoulli.png").exists()
