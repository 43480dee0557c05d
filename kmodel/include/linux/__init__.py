"""Mirrors of ``include/linux/*.h`` (Linux 6.1.176)."""
