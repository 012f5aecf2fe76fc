"""The one home of number conventions: steps as the run logged them, percentages as fractions."""

from __future__ import annotations

import numpy as np

from logsleuth.numfmt import as_fraction, percent_scale, step_text


def test_steps_print_whole_without_an_exponent():
    assert step_text(2980.0) == "2980" and step_text(1_234_567.0) == "1234567"
    assert step_text(12.5) == "12.5" and step_text(None) == "-" and step_text(3) == "3"
    assert "e" not in step_text(1_234_567.5)


def test_percent_values_read_as_fractions():
    assert percent_scale([0.1, 0.9]) == 1.0 and percent_scale([12.0, 87.5, np.nan]) == 100.0
    assert np.allclose(as_fraction([12.0, 87.5]), [0.12, 0.875])
    assert np.allclose(as_fraction([0.2, 0.4]), [0.2, 0.4])
    assert percent_scale([]) == 1.0
