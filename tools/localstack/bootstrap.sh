#!/usr/bin/env bash
# Install everything the project needs into the project: .venv, tools/node_modules, local certificates.
# --browser also installs Debian's Chromium for the browser tests (no browser download).
# --tools also installs the offline checkers of infra/ and .github/ into .venv-tools (own pins).
set -euo pipefail
cd "$(dirname "$0")/../.."
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
touch .venv/.installed  # make check's marker: the venv is up to date
if [ ! -x tools/node_modules/.bin/azurite-table ] || [ tools/package-lock.json -nt tools/node_modules/.package-lock.json ]; then
  npm ci --prefix tools --no-audit --no-fund --loglevel=error
fi
.venv/bin/python -m tools.localstack.make_certs --dir .local/certs >/dev/null

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
