"""Exceptions: user-input errors (KmodelError) and kernel BUG conditions (KernelBug)."""

from __future__ import annotations


class KmodelError(Exception):
    """An error in what the user gave kmodel: a trace, a parameter, a scenario name."""


class TraceFormatError(KmodelError):
    """A trace line that cannot be parsed: names the file, the line and what was expected."""

    def __init__(self, path: str, lineno: int, message: str, line: str = "") -> None:
        self.path = path
        self.lineno = lineno
        self.message = message
        self.line = line
        text = f"{path}:{lineno}: {message}"
        if line:
            text += f"\n    {line.rstrip()[:200]}"
        super().__init__(text)


class KernelBug(Exception):
    """A VM_BUG_ON / BUG_ON condition: the model was driven into a state the kernel forbids."""
