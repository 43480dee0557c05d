"""Test-wide configuration: the Hypothesis profile named by KMODEL_HYPOTHESIS_PROFILE."""

from kmodel.testing.profiles import load_profile

load_profile()
