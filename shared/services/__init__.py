"""One way into each use case: every trigger (HTTP, queue, timer) calls these.

Services receive their ports (shared/services/ports.py) by constructor: shared/composition.py
passes the Azure adapters, the unit tests pass the in-memory fakes of tests/fakes.
"""
