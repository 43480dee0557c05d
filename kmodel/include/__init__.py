"""Mirrors of the kernel's include/ headers: structs, flags and constants."""
