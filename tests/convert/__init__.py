"""The converter's tests (data_helpers.convert), one module per converter module."""

import pytest

# helpers.py asserts too (assert_refused, kill_once): show what differed.
pytest.register_assert_rewrite("tests.convert.helpers")
