"""Tests of kmodel/v6_12/arch."""
