#!/usr/bin/env bash
# Install everything the project needs into the project: .venv, node_modules, local certificates.
# --browser also installs Debian's Chromium for the browser tests (no browser download).
# --tools also installs the offline checkers of infra/ and .github/ into .venv-tools (own pins).
set -euo pipefail
cd "$(dirname "$0")/.."
browser=false tools=false
for arg in "$@"; do
  case "$arg" in
    --browser) browser=true ;;
    --tools) tools=true ;;
    *) echo "usage: $0 [--browser] [--tools]" >&2; exit 2 ;;
  esac
done

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
if [ ! -x node_modules/.bin/azurite-table ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
.venv/bin/python scripts/make_certs.py --dir .local/certs >/dev/null

# checkov alone takes a minute to install: only when requirements-tools.txt changed.
if $tools && ! cmp -s requirements-tools.txt .venv-tools/installed-requirements.txt; then
  python3 -m venv .venv-tools
  .venv-tools/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-tools.txt
  cp requirements-tools.txt .venv-tools/installed-requirements.txt
fi

if $browser && ! command -v chromium >/dev/null; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
