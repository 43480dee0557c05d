"""Tests of the Linux 6.12.118 model (kmodel/v6_12), mirroring tests/ for 6.1."""
