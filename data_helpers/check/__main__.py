"""Run ``python -m data_helpers.check``."""

import sys

from data_helpers.check.cli import main

sys.exit(main())
