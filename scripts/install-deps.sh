#!/usr/bin/env bash
# Installs the Debian packages hyporank builds and runs with (as root; with
# sudo otherwise). Installs nothing when everything is already there.
# --browser: also Debian's chromium, which the browser tests of the HTML
# report drive headless (tests/browser/), unless a Chromium is on PATH.
set -euo pipefail

# clang and its runtime (libFuzzer, sanitizers) build the fuzz harnesses (scripts/fuzz.sh).
packages=(build-essential cmake pkg-config libopenblas-dev libcjson-dev libsqlite3-dev libcurl4-openssl-dev
          python3 python3-pip ca-certificates clang libclang-rt-dev)
if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null &&
   ! command -v google-chrome >/dev/null; then
    packages+=(chromium fonts-dejavu-core)
fi
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# python3/pip may come from elsewhere (pyenv, a venv): accept them when on PATH.
if command -v python3 >/dev/null && { command -v pip3 >/dev/null || command -v pip >/dev/null; }; then
    missing=("${missing[@]/python3-pip}")
    missing=("${missing[@]/python3}")
fi
read -r -a missing <<< "${missing[*]}"
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
