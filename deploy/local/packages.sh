#!/usr/bin/env bash
# Installs the Debian packages the local stack needs (only the missing ones). chromium
# renders the assurance report to PNG in its test (tests/e2e/test_report.py).
set -euo pipefail
wanted=(redis-server prometheus prometheus-alertmanager chromium)
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
# kubectl renders the Kubernetes manifests in tests/deploy/test_k8s_rendered.py.
command -v kubectl >/dev/null || missing+=(kubernetes-client)
((${#missing[@]} == 0)) && exit 0
echo "[local] installing Debian packages: ${missing[*]}" >&2
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the packaged daemons as system services; blindar runs its own on loopback.
for svc in redis-server prometheus prometheus-alertmanager; do
  $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
