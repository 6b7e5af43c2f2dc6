"""Numbers true just beside the tested paths (probe of the core commands, issue 9 follow-up)."""
import math

import numpy as np
import pytest

import polyfit as pf


def test_artifact_whose_mpc_schedule_does_not_fit_reads_back(tmp_path):
    # exp on [-50, 50]: every MPC schedule needs an integer beyond int64 (was: written, then refused on read)
    a = pf.fit("exp", 8, 50)
    assert a.precision["mpc_schedule"]["name"] is None
    a.save(tmp_path / "e.json")
    assert pf.load(tmp_path / "e.json").precision == a.precision
