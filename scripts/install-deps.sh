#!/usr/bin/env bash
# Installs what owlsock needs to build, run and test on Debian 12.
# Idempotent: when every package is installed already, apt is not touched.
# Run as root (CI, containers) or as a user with sudo.
set -euo pipefail

packages=(
  # toolchain and build system (gcc-12 brings libasan8 and libubsan1; clang: tests/fuzz)
  build-essential
  clang
  meson
  ninja-build
  pkg-config
  # libraries
  libglib2.0-dev
  libsoup-3.0-dev
  libjson-glib-dev
  zlib1g-dev               # permessage-deflate
  libgnutls28-dev          # JWT signatures (ES256, EdDSA)
  libhiredis-dev           # the Redis broker (owlsock/broker)
  python3-jwt              # the tests mint tokens the way other stacks do
  glib-networking          # TLS for GIO at run time
  openssl                  # the TLS tests make their certificates
  redis-server             # the Redis broker's tests start their own
  # introspection and the API reference
  gobject-introspection
  libgirepository1.0-dev
  gir1.2-soup-3.0
  gir1.2-json-1.0
  gi-docgen
  # Python and GJS tests and examples
  python3-gi
  python3-websockets
  gjs
  # tests/c/test-schema-suite: the official JSON Schema Test Suite's draft 2020-12
  # files, which Debian ships only inside this Go package's testdata
  golang-github-flowstack-go-jsonschema-dev
  # D-Bus (owlsockd and its tests; dbus brings dbus-daemon and dbus-send)
  dbus
  # tests/packaging: systemd-analyze verify and systemd-sysusers on the units
  # (no running systemd needed), setpriv to call the bus as other users
  systemd
  util-linux
  # tests/browser: Debian's Chromium, driven by playwright-core from npm (below)
  chromium
  nodejs
)
# npm comes with some builds of nodejs (NodeSource's); Debian's is a package of its own.
if ! command -v npm >/dev/null; then
  packages+=(npm)
fi

# tests/browser's playwright-core, as package-lock.json pins it; never a browser
# download (the tests launch /usr/bin/chromium).
npm_install() {
  local dir
  dir="$(dirname "${BASH_SOURCE[0]}")/../tests/browser"
  if [[ -f $dir/node_modules/playwright-core/package.json ]]; then
    return 0
  fi
  echo "install-deps: npm ci in tests/browser"
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
}

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  if [[ $status != installed ]]; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages are installed"
  npm_install
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null; then
    echo "install-deps: missing ${missing[*]}; run this script as root" >&2
    exit 1
  fi
  sudo=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -q -y --no-install-recommends "${missing[@]}"
npm_install
