"""Sphinx configuration: the API reference built from kmodel's docstrings.

Build (warnings are errors): ``sphinx-build -W --keep-going -b html docs docs/_build/html``.
Only ``docs/api/`` is reStructuredText; the Markdown guides in ``docs/`` are read on GitHub.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

project = "kmodel"
author = "kmodel developers"
copyright = "kmodel developers, GPL-2.0-only"
root_doc = "api/index"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary", "sphinx.ext.viewcode"]
source_suffix = {".rst": "restructuredtext"}
exclude_patterns = ["_build", "**/*.md"]
templates_path = ["api/_templates"]

autosummary_generate = True
# ignore-module-all: a package's re-exports (``from kmodel import Folio``) are documented once,
# in the module that defines them (kmodel.include.linux.mm_types.Folio).
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True,
                           "ignore-module-all": True}
# Annotations are strings (``from __future__ import annotations``) naming classes by their
# short names; some short names are defined twice on purpose (kmodel.kernel.Kernel and
# kmodel.capture.kernel.Kernel; the 6.1 and 6.12 models' SwapIocb), so Sphinx links them to the
# first and says it found several: that note, and only it, is not an error here.
suppress_warnings = ["ref.python"]
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
html_theme = "alabaster"
html_title = "kmodel API reference"
