"""The test suite, layer by layer (tests/README.md): tests/unit starts nothing, tests/integration and
tests/functions need Azurite, the rest run against the local stack."""
