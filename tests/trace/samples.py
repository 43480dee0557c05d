"""Real trace lines of every event type, and helpers to parse text."""

from __future__ import annotations

import io

from kmodel.trace import LostEvents, TraceEvent, parse_trace

# Real lines from the traces in ../shared/kernel/traces (scenarios basic, readerr_virtio,
# writeerr_dm, zram).
SWAP_WRITEPAGE = (
    "          memhog-156     (    156) [000] .....     4.313022: swap_writepage: "
    "(swap_writepage+0x0/0xa0) page=0xffffea00000a6ec0 wbc=0xffffc900005038c8 "
    "pflags=0xfffffc00c0405 entry=0x1 sync_mode=0 wbc_bits=0x8"
)
SWAP_WRITEPAGE_RET = (
    "          memhog-156     (    156) [000] .....     4.314919: swap_writepage_ret: "
    "(pageout+0xd1/0x250 <- swap_writepage) ret=0"
)
UNKNOWN_CALLER_RET = (
    "          memhog-385     (    385) [001] .....    10.597207: __swap_writepage_ret: "
    "([unknown/kretprobe'd] <- __swap_writepage) ret=0"
)
BDEV_WRITE_PAGE_RET = (
    "          memhog-156     (    156) [000] .....     4.314564: bdev_write_page_ret: "
    "(__swap_writepage+0x45/0x480 <- bdev_write_page) ret=-95"
)
END_SWAP_BIO_READ = (
    "          <idle>-0       (-------) [001] ..s1.     4.323835: end_swap_bio_read: "
    "(end_swap_bio_read+0x0/0x170) bio=0xffff888008975200 bi_status=0 sector=16 size=0 opf=0x0 "
    "dev=0xfe00000 waiter=0x0 page=0xffffea00000a5700 pflags=0xfffffc00c0411"
)
BIO_QUEUE = (
    "          memhog-156     (    156) [000] .....     4.314575: block_bio_queue: "
    "254,0 W 16 + 8 [memhog]"
)
BIO_REMAP = (
    "          memhog-517     (    517) [000] .....    14.288608: block_bio_remap: "
    "254,0 R 88 + 8 <- (253,0) 88"
)
RQ_ISSUE = (
    "          memhog-517     (    517) [000] .....    14.288642: block_rq_issue: "
    "254,0 R 12288 () 72 + 24 [memhog]"
)
RQ_COMPLETE = (
    "     ksoftirqd/1-21      (     21) [001] ..s..     4.320751: block_rq_complete: "
    "254,0 W () 248 + 16 [0]"
)
RQ_ERROR = (
    "          <idle>-0       (-------) [001] .Ns1.     4.493782: block_rq_error: "
    "254,0 R () 320 + 64 [-5]"
)
BIO_COMPLETE = (
    "          <idle>-0       (-------) [001] ..s1.    14.288952: block_bio_complete: "
    "253,0 R 88 + 8 [0]"
)
CONSOLE = (
    "          <idle>-0       (-------) [001] dNs1.     4.493885: console: "
    "Read-error on swap-device (254:0:320)"
)
SIGNAL = (
    "          memhog-156     (    156) [000] d..1.     4.496089: signal_generate: "
    "sig=7 errno=0 code=-6 comm=memhog pid=156 grp=0 res=0"
)
WRITE_FOLIO = (
    "          memhog-156     (    156) [000] .....     4.314923: mm_vmscan_write_folio: "
    "page=00000000ef4a6736 pfn=0x2997 flags=RECLAIM_WB_ANON|RECLAIM_WB_ASYNC"
)

ALL_REAL_LINES = [
    SWAP_WRITEPAGE,
    SWAP_WRITEPAGE_RET,
    UNKNOWN_CALLER_RET,
    BDEV_WRITE_PAGE_RET,
    END_SWAP_BIO_READ,
    BIO_QUEUE,
    BIO_REMAP,
    RQ_ISSUE,
    RQ_COMPLETE,
    RQ_ERROR,
    BIO_COMPLETE,
    CONSOLE,
    SIGNAL,
    WRITE_FOLIO,
]


def parse_text(text: str, name: str = "t.trace") -> list[TraceEvent | LostEvents]:
    return list(parse_trace(io.StringIO(text), name=name))


def one(line: str) -> TraceEvent:
    (item,) = parse_text(line + "\n")
    assert isinstance(item, TraceEvent)
    return item
