"""The test suite: tests/unit and tests/functions in-process, the rest end to end against the local stack."""
