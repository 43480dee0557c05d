"""The public API: exported once from ``kmodel``, each name resolvable, the version pinned."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import kmodel
import kmodel.trace


def test_all_names_resolve_and_are_unique() -> None:
    assert len(kmodel.__all__) == len(set(kmodel.__all__))
    for name in kmodel.__all__:
        assert getattr(kmodel, name) is not None


def test_kernel_names_are_exported() -> None:
    for name in ("swap_readpage", "swap_writepage", "__swap_writepage", "end_swap_bio_read",
                 "end_swap_bio_write", "read_swap_cache_async", "swap_cluster_readahead",
                 "do_swap_page", "Folio", "Bio", "SwapEntry", "SwapInfo", "BlockDevice",
                 "Task", "VMFault", "WritebackControl", "SwapIocb"):
        assert name in kmodel.__all__


def test_kernel_functions_live_where_the_kernel_has_them() -> None:
    assert kmodel.end_swap_bio_read.__module__ == "kmodel.mm.page_io"
    assert kmodel.read_swap_cache_async.__module__ == "kmodel.mm.swap_state"
    assert kmodel.do_swap_page.__module__ == "kmodel.mm.memory"
    assert kmodel.bio_put.__module__ == "kmodel.block.bio"
    assert kmodel.should_fail.__module__ == "kmodel.lib.fault_inject"


def test_version_names_the_kernel() -> None:
    assert kmodel.KERNEL_VERSION == "6.1.176"
    out = subprocess.run([sys.executable, "-m", "kmodel", "--version"], capture_output=True,
                         text=True, check=True).stdout
    assert "6.1.176" in out


def test_swap_entry_encoding_matches_the_real_trace() -> None:
    # do_swap_page orig_pte=0x7fffffffffff00a from readerr_virtio: slot 7, exclusive,
    # soft-dirty; entry values are offsets for type 0.
    entry = kmodel.SwapEntry.from_pte(0x7FFFFFFFFFFF00A)
    assert entry == kmodel.SwapEntry(0, 7)
    assert entry.to_pte(exclusive=True) | 0x2 == 0x7FFFFFFFFFFF00A
    assert kmodel.SwapEntry.from_val(0x70) == kmodel.SwapEntry(0, 0x70)


def test_page_flags_decode_a_real_pflags_value() -> None:
    assert kmodel.decode_page_flags(0xFFFFFC00C0405) == "locked|uptodate|swapcache|reclaim|swapbacked"


@pytest.mark.parametrize(("package", "constants"), [
    (kmodel, {"KERNEL_VERSION", "__version__"}),
    (kmodel.trace, set()),
])
def test_lazy_exports_agree_with_the_type_checking_imports(
        package: ModuleType, constants: set[str]) -> None:
    """``_EXPORTS`` (what runs) and the ``TYPE_CHECKING`` imports (what mypy sees) name the
    same module for every public name, and cover ``__all__``."""
    assert package.__file__ is not None
    tree = ast.parse(Path(package.__file__).read_text())
    block = next(node for node in tree.body if isinstance(node, ast.If)
                 and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
    static = {alias.name: node.module for node in block.body
              if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert static == package._EXPORTS
    assert set(package.__all__) == set(static) | constants
    for name in package.__all__:
        assert getattr(package, name) is not None


def test_import_kmodel_loads_no_layer() -> None:
    """``import kmodel`` is cheap: the layers load when a name is first used."""
    code = ("import sys, kmodel; print(sorted(m for m in sys.modules if m.startswith('kmodel')));"
            "kmodel.Machine; print('kmodel.sim' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out == ["['kmodel']", "True"]


def test_star_import_gives_every_public_name() -> None:
    namespace: dict[str, object] = {}
    exec("from kmodel import *", namespace)
    assert set(kmodel.__all__) <= set(namespace)
    assert namespace["swap_readpage"] is kmodel.swap_readpage


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'swap_read_page'"):
        kmodel.swap_read_page  # noqa: B018
