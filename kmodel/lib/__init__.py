"""Mirrors of lib/: fault injection and rate limiting."""
