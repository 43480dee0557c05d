"""The parser builds an event's args regexes when an event of its name is first parsed
(issue 12: no work at import time), and its tables hold the built parsers from then on."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from kmodel.trace import parse
from kmodel.trace.events import EVENT_ARGS
from kmodel.trace.parse import LineScanner, parse_event_line

TRACES = Path(__file__).resolve().parent.parent / "data" / "traces"


def test_importing_the_parser_builds_no_event_parser() -> None:
    code = "import kmodel.trace.parse as p\nprint(len(p._BUILT), len(p._PARSERS))\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["0", str(len(EVENT_ARGS))]


def test_parsing_builds_the_parsers_of_the_events_read_only() -> None:
    trace = TRACES / "basic.trace.txt"
    code = ("import kmodel.trace.parse as p\n"
            f"for _ in p.parse_trace({str(trace)!r}): pass\n"
            "print(' '.join(sorted(p._BUILT)))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    names = set(re.findall(r"\d\.\d{6}: ([^\s:]+):", trace.read_text()))
    assert set(done.stdout.split()) == names & set(EVENT_ARGS) - {"console"}
    assert set(EVENT_ARGS) - names  # some known events are absent, and were not built


def test_a_scanner_holds_the_built_parser_after_its_first_call() -> None:
    scanner = LineScanner("<test>")
    line = ("          memhog-101     (    101) [000] .....     4.292184: swap_writepage: "
            "(swap_writepage+0x0/0xa0) page=0xffffea0000080080 wbc=0xffffc900005038c8 "
            "pflags=0xfffffc00c0405 entry=0x3 sync_mode=0 wbc_bits=0x8\n")
    m = scanner.match(line)
    assert m is not None
    first = scanner.matchers["swap_writepage"](m[10])  # a stub, or built by another test
    assert first is not None and first["entry"] == "0x3"
    built = parse._BUILT["swap_writepage"]
    assert scanner.matchers["swap_writepage"] is built[2]
    assert scanner.parsers["swap_writepage"] is built[0]
    assert scanner.checkers["swap_writepage"] is built[1]
    # A fresh scanner starts with the built ones; the module tables hold them too.
    assert LineScanner("<other>").parsers["swap_writepage"] is built[0]
    assert parse._PARSERS["swap_writepage"] is built[0]
    assert parse_event_line(line).args["entry"] == "0x3"


def test_a_stub_raises_what_the_parser_raises() -> None:
    scanner = LineScanner("<test>")
    name = "swap_readpage"
    text = "(swap_readpage+0x0/0x1a0) page=zz"
    errors = []
    for table in (scanner.parsers, scanner.checkers):
        try:
            table[name](text)
        except LineScanner.ArgsError as e:
            errors.append(str(e))
    assert len(errors) == 2 and errors[0] == errors[1] and errors[0].startswith(name)
