"""Mirrors of block/: bios, submission, plugging, requests, rw_page."""
