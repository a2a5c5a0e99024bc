#!/usr/bin/env bash
# Installs the Debian packages hyporank builds and runs with (as root; with
# sudo otherwise). Installs nothing when everything is already there.
# --browser: also Debian's chromium, which the browser tests of the HTML
# report drive headless (tests/browser/), unless a Chromium is on PATH.
set -euo pipefail

# clang and its runtime (libFuzzer, sanitizers) build the fuzz harnesses
# (scripts/fuzz.sh). ninja-build and the python3 packages serve the Python
# package (python/: scikit-build-core drives CMake with Ninja; a virtualenv
# needs venv, and the extension module needs Python's headers).
packages=(build-essential cmake ninja-build pkg-config libopenblas-dev libcjson-dev libsqlite3-dev
          libcurl4-openssl-dev python3 python3-pip python3-venv python3-dev ca-certificates
          clang libclang-rt-dev)
if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null &&
   ! command -v google-chrome >/dev/null; then
    packages+=(chromium fonts-dejavu-core)
fi
# python3 may come from elsewhere (pyenv): then it brings its own pip, venv
# and headers, and Debian's python3 packages are not needed.
own_python=0
if command -v python3 >/dev/null && python3 -c 'import sysconfig, venv, pip, os, sys;
sys.exit(not os.path.exists(sysconfig.get_paths()["include"] + "/Python.h"))' 2>/dev/null; then
    own_python=1
fi
missing=()
for p in "${packages[@]}"; do
    case "$p" in python3*) [ $own_python = 1 ] && continue ;; esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
