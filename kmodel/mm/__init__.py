"""Mirrors of mm/: the swap I/O path and the code right around it."""
