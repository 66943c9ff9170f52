# The two commands of the README.
.PHONY: run test bench

run:  ## install, start Azurite + local B2C + the function app on :7071, print a demo invitation
	./scripts/bootstrap.sh
	.venv/bin/python -m scripts.run_local

test:  ## install (Chromium and the infra/workflow checkers included), type-check and run every test
	./scripts/bootstrap.sh --browser --tools
	.venv/bin/python -m mypy
	.venv/bin/python -m pytest

bench:  ## measure latency and throughput of the main paths against the local stack
	./scripts/bootstrap.sh
	.venv/bin/python -m scripts.benchmark

.PHONY: guide
guide:  ## the customer guide in docs/guide/ (en, fr, de) from the browser journeys' screenshots
	./scripts/bootstrap.sh --browser
	.venv/bin/python -m pytest tests/test_guide_journeys.py -q
	.venv/bin/python -m scripts.guide
