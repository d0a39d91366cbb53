"""Run the converter's command line: ``python -m data_helpers.convert --help``."""

import sys

from data_helpers.convert.cli import main

sys.exit(main())
