"""The unit suite's fake clock and log collector are shared fixtures (``tests/conftest.py``)."""
