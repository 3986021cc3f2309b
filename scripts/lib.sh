# Shared by scripts/test and scripts/demo: find (or make) a Python 3.11+ that pip can install into,
# and install OS packages with apt-get when something is missing. Source it; it defines functions only.
#
# Python: $PYTHON if set, else .venv/bin/python if it exists, else python3 on PATH. A python3 that
# is Debian's externally managed system Python (PEP 668) or has no pip gets a .venv instead.

say() { printf '\n==> %s\n' "$*"; }

as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "roadlink: need root (or sudo) to run: $*" >&2
        exit 1
    fi
}

apt_updated=false
apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "roadlink: no apt-get here; install these yourself, then rerun: $*" >&2
        exit 1
    fi
    if ! $apt_updated; then
        as_root apt-get update -qq
        apt_updated=true
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# True when pip may install into $PYTHON's environment: it has pip and is not an externally
# managed (PEP 668) interpreter outside a virtual environment.
pip_usable() {
    "$PYTHON" - <<'PY' >/dev/null 2>&1
import importlib.util, os, sys, sysconfig
in_venv = sys.prefix != sys.base_prefix
managed = os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))
sys.exit(0 if importlib.util.find_spec("pip") and (in_venv or not managed) else 1)
PY
}

ensure_python() {
    if [[ -z "${PYTHON:-}" ]]; then
        if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
    fi
    command -v "$PYTHON" >/dev/null 2>&1 || { echo "roadlink: no $PYTHON on PATH (need Python 3.11+)" >&2; exit 1; }
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || { echo "roadlink: $PYTHON is $("$PYTHON" -V 2>&1); roadlink needs Python 3.11+" >&2; exit 1; }
    if pip_usable; then return; fi
    say "creating .venv ($PYTHON cannot pip install into its own environment)"
    if ! "$PYTHON" -m venv .venv >/dev/null 2>&1; then
        rm -rf .venv
        apt_install python3-venv
        "$PYTHON" -m venv .venv
    fi
    PYTHON=.venv/bin/python
}
