#!/usr/bin/env bash
# Set up everything Yiwang needs on Debian or Ubuntu; safe to run again (each step checks first).
#   system packages: PostgreSQL with its server headers, Mosquitto, a compiler, Python venv; with --tests also
#                    Chromium and a CJK font for the page tests
#   TimescaleDB:     built from Debian trixie's source package (Apache edition), see DEVELOPERS.md
#   Python:          .venv with the project and its development tools
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
HOME_DIR=${YIWANG_HOME:-$ROOT/.yiwang}
mkdir -p "$HOME_DIR"

say() { printf '\033[1m== %s\033[0m\n' "$*"; }
if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
export DEBIAN_FRONTEND=noninteractive

# ---- system packages -------------------------------------------------------------------------
need=()
packages=(postgresql mosquitto mosquitto-clients build-essential cmake libssl-dev dpkg-dev
          python3-venv python3-dev debian-archive-keyring curl ca-certificates xz-utils)
# The page tests drive Debian's Chromium with Playwright (no browser download); Chinese text needs a CJK font.
# Only the test command needs them (running the system does not).
if [ "${1:-}" = "--tests" ]; then packages+=(chromium fonts-noto-cjk); fi
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  say "installing system packages: ${need[*]}"
  "${SUDO[@]}" apt-get update -q
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${need[@]}"
fi
PGV=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! dpkg-query -W -f='${Status}' "postgresql-server-dev-$PGV" 2>/dev/null | grep -q "ok installed"; then
  say "installing postgresql-server-dev-$PGV"
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends "postgresql-server-dev-$PGV" \
    || { "${SUDO[@]}" apt-get update -q && "${SUDO[@]}" apt-get install -y -q "postgresql-server-dev-$PGV"; }
fi

# ---- TimescaleDB ------------------------------------------------------------------------------
tsdb_installed() { ls "/usr/lib/postgresql/$PGV/lib/"timescaledb-2.*.so 2>/dev/null | head -1; }
if [ -z "$(tsdb_installed)" ]; then
  say "building TimescaleDB 2 (Apache edition) for PostgreSQL $PGV from Debian trixie's source"
  APT="$HOME_DIR/apt"
  mkdir -p "$APT/lists/partial" "$HOME_DIR/build"
  # Reuse the Debian mirror this machine already uses; Ubuntu mirrors do not carry trixie.
  MIRROR=$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
           | grep -oE 'https?://[^ ]+' | head -1 || true)
  MIRROR=${MIRROR:-http://deb.debian.org/debian}
  cat > "$APT/trixie-src.sources" <<EOF
Types: deb-src
URIs: $MIRROR
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  APT_OPTS=(-o "Dir::Etc::sourcelist=$APT/trixie-src.sources" -o "Dir::Etc::sourceparts=-"
            -o "Dir::State::Lists=$APT/lists" -o "APT::Sandbox::User=root")
  apt-get "${APT_OPTS[@]}" update -q
  # Trixie's point releases revise the Debian part (2.19.3+dfsg-1+deb13u1, ...): take whichever it has now.
  rm -f "$HOME_DIR"/build/timescaledb_*
  ( cd "$HOME_DIR/build" && apt-get "${APT_OPTS[@]}" source --download-only timescaledb )
  SRC="$HOME_DIR/build/timescaledb-src"
  rm -rf "$SRC" && mkdir -p "$SRC"
  tar -xf "$HOME_DIR"/build/timescaledb_*.orig.tar.* -C "$SRC" --strip-components=1
  tar -xf "$HOME_DIR"/build/timescaledb_*.debian.tar.* -C "$SRC"
  ( cd "$SRC" && while read -r patch; do
      [ -n "$patch" ] && patch -p1 -s < "debian/patches/$patch"
    done < debian/patches/series )
  ( cd "$SRC" && mkdir -p build && cd build \
    && cmake .. -DCMAKE_BUILD_TYPE=Release -DPG_CONFIG="/usr/lib/postgresql/$PGV/bin/pg_config" \
         -DAPACHE_ONLY=1 -DSEND_TELEMETRY_DEFAULT=OFF -DUSE_TELEMETRY=OFF \
         -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF -DWARNINGS_AS_ERRORS=OFF >/dev/null \
    && make -j"$(nproc)" >/dev/null && "${SUDO[@]}" make install >/dev/null )
fi

# ---- Python -----------------------------------------------------------------------------------
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PY" -m venv .venv
fi
STAMP=.venv/.yiwang-installed
WANT=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]; then
  say "installing Python packages into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev]'
  echo "$WANT" > "$STAMP"
fi
TSDB=$(basename "$(tsdb_installed)" .so)
say "set up: PostgreSQL $PGV + ${TSDB/-/ }, $(mosquitto -h 2>/dev/null | head -1 | cut -d' ' -f1-3), .venv"
