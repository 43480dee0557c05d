"""Mirrors of arch/ (x86_64 only)."""
