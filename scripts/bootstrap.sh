#!/usr/bin/env bash
# Install everything carewatch needs on a Debian / Raspberry Pi OS machine, idempotently:
# Debian packages for the real services the tests and the demo start, and a virtualenv
# (.venv) with the project and its development extras.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(mosquitto mosquitto-clients influxdb postgresql chromium chromium-driver)
VENV=.venv
STAMP="$VENV/.carewatch-installed"

need_apt=()
for pkg in "${DEB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
    echo "bootstrap: installing Debian packages: ${need_apt[*]}"
    SUDO=""
    if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
# The packages start system-wide daemons where an init system runs; carewatch starts its
# own private instances on free loopback ports and never relies on those.

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "bootstrap: creating $VENV"
    python3 -m venv "$VENV"
fi
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$want" ]]; then
    echo "bootstrap: installing carewatch[dev] into $VENV"
    # pip warns about optional local mirrors that a machine may not have; keep real errors.
    "$VENV/bin/pip" install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
    "$VENV/bin/pip" install -q -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
    "$VENV/bin/python" -c "import fastapi, aiomqtt, bleak, scipy, twilio, pytest" || { echo "bootstrap: pip install failed" >&2; exit 1; }
    echo "$want" > "$STAMP"
fi
echo "bootstrap: ready"
