"""docs/citation-index.md is what scripts/gen-citation-index.py makes from the checked citations."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "gen-citation-index.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_citation_index", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_citation_index_is_up_to_date() -> None:
    gen = _script()
    assert (ROOT / "docs" / "citation-index.md").read_text() == gen.render(gen.collect()), (
        "docs/citation-index.md is stale: run python scripts/gen-citation-index.py")


def test_a_row_leads_from_the_c_to_the_python_of_both_versions() -> None:
    row = _script().collect()["end_swap_bio_read"]
    assert row.source["6.1.176"] == {"mm/page_io.c:55-78"}
    assert row.model["6.1.176"] == {"kmodel/mm/page_io.py `end_swap_bio_read`"}
    assert {"ER-1", "ER-2"} <= row.branches["6.1.176"]
    assert row.model["6.12.118"] == {"kmodel/v6_12/mm/page_io.py `end_swap_bio_read`"}
