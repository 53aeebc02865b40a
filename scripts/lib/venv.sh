# shellcheck shell=bash
# Sourced by scripts/run and scripts/test: make .venv hold storyhub installed
# from this checkout, fast when nothing changed.
#
# A stamp file in .venv records a hash of pyproject.toml, the Python version
# and the extras; when it matches, pip is not run at all. When pyproject.toml
# changes, the same venv is updated in place; when the venv is broken (its
# Python moved or is too old), it is made anew.

STORYHUB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV=${STORYHUB_VENV:-$STORYHUB_ROOT/.venv}
PYTHON=${PYTHON:-python3}

say() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }

# The install command the Containerfile repeats (a test compares them): the
# project itself, with the given extras, from this checkout.
storyhub_install_spec() {
    local extras=$1
    if [ -n "$extras" ]; then printf '.[%s]' "$extras"; else printf '.'; fi
}

_stamp_value() {
    local python=$1 extras=$2
    {
        "$python" -c 'import sys; print(sys.version)'
        printf 'extras=%s\n' "$extras"
        cat "$STORYHUB_ROOT/pyproject.toml"
    } | sha256sum | cut -d' ' -f1
}

_venv_usable() {
    [ -x "$VENV/bin/python" ] &&
        "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}

# ensure_venv EXTRAS — e.g. `ensure_venv ""` or `ensure_venv test`.
ensure_venv() {
    local extras=$1 stamp want
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        say "no '$PYTHON' on PATH; install Python 3.11 or newer (or set PYTHON=/path/to/python3.11)"
        return 1
    fi
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        say "$("$PYTHON" --version 2>&1) is too old; storyhub needs Python 3.11 or newer (set PYTHON=...)"
        return 1
    fi
    if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
        say "'$PYTHON -m venv' is not available; on Debian: apt-get install python3-venv"
        return 1
    fi

    # Two commands started at once (say, run and test) must not pip into the
    # same venv together; pyproject.toml is always there to lock on.
    exec 9<"$STORYHUB_ROOT/pyproject.toml"
    flock 9

    if [ -d "$VENV" ] && ! _venv_usable; then
        say "$VENV is broken or too old; making it anew"
        rm -rf "$VENV"
    fi
    if [ ! -d "$VENV" ]; then
        say "creating $VENV with $("$PYTHON" --version 2>&1)"
        "$PYTHON" -m venv "$VENV"
    fi

    want=$(_stamp_value "$VENV/bin/python" "$extras")
    stamp="$VENV/.storyhub-installed${extras:+-$extras}"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        say "$VENV is up to date (pyproject.toml unchanged)"
    else
        say "pip install -e '$(storyhub_install_spec "$extras")' into $VENV"
        (cd "$STORYHUB_ROOT" && "$VENV/bin/python" -m pip install --quiet \
            --disable-pip-version-check -e "$(storyhub_install_spec "$extras")")
        printf '%s\n' "$want" >"$stamp"
    fi
    flock -u 9
    exec 9<&-
}

# venv_has_extras EXTRAS — true when an install with these extras is current.
venv_has_extras() {
    local extras=$1 stamp
    stamp="$VENV/.storyhub-installed${extras:+-$extras}"
    _venv_usable && [ -f "$stamp" ] &&
        [ "$(cat "$stamp")" = "$(_stamp_value "$VENV/bin/python" "$extras")" ]
}
