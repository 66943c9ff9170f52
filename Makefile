# The two commands of the README (make run, make test), and the fast loop (make check).
.PHONY: run test check bench guide mutation

VENV := .venv/.installed

$(VENV): requirements.txt requirements-dev.txt
	python3 -m venv .venv
	.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

run:  ## install, start Azurite + local B2C + the function app on :7071, print a demo invitation
	./tools/localstack/bootstrap.sh
	.venv/bin/python -m tools.localstack.run_local

test:  ## install (Chromium and the infra/workflow checkers included), check, and run every test
	./tools/localstack/bootstrap.sh --browser --tools
	$(MAKE) --no-print-directory check
	.venv/bin/python -m pytest -n auto --dist loadfile  # one worker per core, each with its own stacks; a file stays on one worker

check: $(VENV)  ## the fast loop: lint, format, types, layer contracts, unit tests and the fakes' contract tests; starts no process
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/python -m mypy
	.venv/bin/lint-imports
	.venv/bin/python -m pytest tests/unit tests/contract -m "not azurite" -q

mutation: $(VENV)  ## mutation testing of shared/domain and shared/services by the unit tests (mutmut)
	.venv/bin/mutmut run || true
	.venv/bin/python -m tools.mutation_report

bench:  ## measure latency and throughput of the main paths against the local stack
	./tools/localstack/bootstrap.sh
	.venv/bin/python -m tools.bench.benchmark

guide:  ## the customer guide in docs/guide/ (en, fr, de) from the browser journeys' screenshots
	./tools/localstack/bootstrap.sh --browser
	.venv/bin/python -m pytest tests/test_guide_journeys.py -q
	.venv/bin/python -m tools.localstack.guide
