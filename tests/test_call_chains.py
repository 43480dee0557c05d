"""The model's call chains match the kernel's backtraces (the seed's gdb sessions)."""

from __future__ import annotations

from kmodel import DeterministicExecutor, Machine
from tests.helpers import PAGE, Recorder, pattern, swapped_out


def chain(event: object) -> tuple[str, ...]:
    return (*event.chain, event.name)  # type: ignore[attr-defined]


def test_swap_in_chain_from_the_page_fault_to_swap_readpage() -> None:
    m, t, addr, rec = swapped_out(4, page_cluster=3)
    m.k.swapin_readahead_hits = 0  # no hits yet (swap_state.c:62 boots them at 4)
    m.load(t, addr + 2 * PAGE)  # not next to the last fault: a window of one, CR-1
    (read,) = rec.of("swap_readpage")
    assert chain(read) == (
        "asm_exc_page_fault", "exc_page_fault", "do_user_addr_fault", "handle_mm_fault",
        "__handle_mm_fault", "handle_pte_fault", "do_swap_page", "swapin_readahead",
        "swap_cluster_readahead", "read_swap_cache_async", "swap_readpage",
    )


def test_swap_out_chain_from_kswapd_to_swap_writepage() -> None:
    m = Machine(DeterministicExecutor())
    t = m.spawn()
    addr = m.mmap(t, 1)
    m.store(t, addr, pattern(0))
    rec = Recorder()
    m.k.tracer = rec
    m.reclaim()
    (write,) = rec.of("swap_writepage")
    assert chain(write) == (
        "kswapd", "balance_pgdat", "shrink_node", "shrink_node_memcgs", "shrink_lruvec",
        "shrink_list", "shrink_inactive_list", "shrink_folio_list", "pageout", "swap_writepage",
    )
    assert write.comm == "kswapd0" and not write.softirq
    (queued,) = rec.of("block_bio_queue")
    assert chain(queued)[-4:] == ("__swap_writepage", "submit_bio", "submit_bio_noacct",
                                  "block_bio_queue")


def test_completion_chain_runs_in_softirq_on_the_irq_cpu() -> None:
    m, t, addr, rec = swapped_out(2, page_cluster=0)
    m.load(t, addr)
    (done,) = rec.of("end_swap_bio_read")
    assert done.softirq and done.cpu == 1
    assert chain(done) == ("blk_done_softirq", "blk_complete_reqs", "virtblk_done",
                           "blk_mq_end_request", "blk_update_request", "bio_endio",
                           "end_swap_bio_read")
