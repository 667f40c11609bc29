#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, test and benchmark dataport:
# Debian packages (apt) and Azurite (npm, pinned by tools/azurite/package-lock.json).
# Idempotent: a second run installs nothing and takes a second.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(
  build-essential cmake ninja-build pkg-config git clang clang-format libclang-rt-14-dev lld
  libboost1.81-dev libboost-url1.81-dev libboost-context1.81-dev libssl-dev openssl
  nlohmann-json3-dev libfmt-dev catch2 libfuse3-dev fuse3 libpugixml-dev libyaml-cpp-dev
  libcli11-dev libspdlog-dev
  nginx curl aria2 rclone python3 python3-pytest python3-fsspec nodejs npm procps time
  valgrind util-linux
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs/npm may come from elsewhere than Debian (a newer node on the image): accept any on PATH.
if command -v node >/dev/null && command -v npm >/dev/null; then
  tmp=(); for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi
# The Rust example needs cargo: rustup's if the machine has it, else Debian's.
command -v cargo >/dev/null || missing+=(cargo)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=(); [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# apt starts nginx as a service on some images; the tests run their own instances on free ports.
if [[ -x /usr/sbin/nginx ]] && pgrep -x nginx >/dev/null 2>&1 && [[ -f /run/nginx.pid ]]; then
  /usr/sbin/nginx -s stop 2>/dev/null || true
fi

if [[ ! -x "$here/tools/azurite/node_modules/.bin/azurite-blob" ]]; then
  echo "setup: installing azurite from the npm registry (pinned by package-lock.json)"
  (cd "$here/tools/azurite" && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "setup: ok"
