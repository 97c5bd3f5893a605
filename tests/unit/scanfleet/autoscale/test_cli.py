"""`scanfleet worker --autoscale MIN:MAX`: bounds the policy cannot keep are refused before anything starts."""

from __future__ import annotations

import pytest

from scanfleet.cli import main


@pytest.mark.parametrize("bounds", ["3", "a:b", "1-3"])
def test_bounds_that_are_not_min_colon_max_are_a_usage_error(bounds: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["worker", f"--autoscale={bounds}"])
    assert exited.value.code == 2
    assert "expected MIN:MAX" in capsys.readouterr().err


@pytest.mark.parametrize("bounds", ["3:2", "0:0", "-1:2"])
def test_bounds_the_policy_cannot_keep_are_refused(bounds: str) -> None:
    with pytest.raises(SystemExit, match=r"--autoscale: replicas need 0 <= MIN <= MAX and MAX >= 1"):
        main(["worker", f"--autoscale={bounds}"])
