"""``python -m kmodel``."""

import sys

from kmodel.cli import main

if __name__ == "__main__":  # not when Sphinx' autosummary imports every module
    sys.exit(main())
