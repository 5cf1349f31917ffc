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
}
