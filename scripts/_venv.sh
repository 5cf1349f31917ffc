# Sourced by scripts/up and scripts/test: make .venv and install Vigil into it when needed.
# $1: pip extras to install ("" or "test").
ensure_venv() {
  local extras="$1" marker=".venv/.installed${1:+-$1}"
  if [ ! -x .venv/bin/python ]; then
    if ! python3 -m venv .venv 2>/dev/null; then
      # Debian's python3 ships venv separately.
      rm -rf .venv
      if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null; fi
      python3 -m venv .venv
    fi
  fi
  if [ ! -f "$marker" ] || [ pyproject.toml -nt "$marker" ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras:+[$extras]}"
    touch "$marker"
  fi
  # Compile the PromQL kernels into numba's on-disk cache (~8 s) now rather than at the first
  # big query; again whenever their source changed (the cache is keyed on it).
  if [ ! -f .venv/.kernels-cached ] || [ vigil/promql/_kernel_loops.py -nt .venv/.kernels-cached ]; then
    .venv/bin/python -c "from vigil.promql._kernel import warm; warm()" && touch .venv/.kernels-cached
  fi
}

# Front-end packages from the npm registry, exactly as package-lock.json pins them, bundled
# into vigil/web/static/dist/ ($1: "dev" adds the test-only ones, such as axe-core for the
# accessibility checks).
ensure_npm() {
  local marker="node_modules/.installed${1:+-$1}"
  if ! command -v npm >/dev/null; then
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; fi
  fi
  if [ ! -f "$marker" ] || [ package-lock.json -nt "$marker" ]; then
    if [ "$1" = dev ]; then npm ci --no-audit --no-fund --loglevel=error >/dev/null
    else npm ci --omit=dev --no-audit --no-fund --loglevel=error >/dev/null; fi
    touch "$marker"
  fi
  node scripts/build-web.mjs >/dev/null
}
