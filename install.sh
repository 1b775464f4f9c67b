#!/usr/bin/env bash
# One-command setup of pytracking + ltr: a Python environment with every dependency (pinned), the package in
# editable mode, libjpeg-turbo when possible, and the default local settings files.
#
#   bash install.sh                 # creates ./.venv (or uses the active virtualenv / conda env)
#   bash install.sh --python PATH   # install into the environment of that interpreter
#   bash install.sh --venv DIR      # create/use a virtualenv at DIR
#   bash install.sh --with-vot      # also the VOT toolkit integration
#   bash install.sh --no-apt        # never try to install Debian packages
#
# Non-interactive and idempotent: running it again only fixes what is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CONSTRAINTS="$ROOT/requirements/constraints.txt"
PYTHON=""
VENV=""
WITH_VOT=0
USE_APT=1

usage() { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --python) PYTHON="${2:?--python needs a path}"; shift 2 ;;
    --venv) VENV="${2:?--venv needs a directory}"; shift 2 ;;
    --with-vot) WITH_VOT=1; shift ;;
    --no-apt) USE_APT=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

say() { printf '[install] %s\n' "$*"; }
done_list=()

# ---------------------------------------------------------------------------------------------- environment
if [ -n "$PYTHON" ]; then
  command -v "$PYTHON" >/dev/null || { echo "install.sh: --python '$PYTHON' not found" >&2; exit 2; }
  say "using the environment of $PYTHON"
elif [ -z "$VENV" ] && [ -n "${VIRTUAL_ENV:-}" ]; then
  PYTHON="$VIRTUAL_ENV/bin/python"
  say "using the active virtualenv $VIRTUAL_ENV"
elif [ -z "$VENV" ] && [ -n "${CONDA_PREFIX:-}" ]; then
  PYTHON="$CONDA_PREFIX/bin/python"
  say "using the active conda environment $CONDA_PREFIX"
else
  VENV="${VENV:-$ROOT/.venv}"
  if [ ! -x "$VENV/bin/python" ]; then
    BASE_PY="$(command -v python3 || command -v python || true)"
    [ -n "$BASE_PY" ] || { echo "install.sh: no python3 found; install Python >= 3.10 first" >&2; exit 1; }
    "$BASE_PY" -m venv "$VENV"
    done_list+=("created virtualenv $VENV")
  fi
  PYTHON="$VENV/bin/python"
  say "using virtualenv $VENV"
fi

"$PYTHON" - <<'EOF' || { echo "install.sh: Python >= 3.10 is required" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 10) else 1)
EOF

# Constraints through the environment so they also reach isolated build environments (visdom's sdist needs
# setuptools<81 there).
export PIP_CONSTRAINT="$CONSTRAINTS"
export PIP_DISABLE_PIP_VERSION_CHECK=1
PIP=("$PYTHON" -m pip install --quiet --no-input)

# ----------------------------------------------------------------------------------------------- packages
say "installing pytracking + ltr (editable) with pinned dependencies (torch, opencv, visdom, tensorboard, ...)"
"${PIP[@]}" "setuptools" "wheel"
"${PIP[@]}" -e "$ROOT[all]"
done_list+=("installed the package in editable mode with extras 'all' (pins: requirements/constraints.txt)")

if [ "$WITH_VOT" = 1 ]; then
  say "installing the VOT toolkit"
  "${PIP[@]}" -e "$ROOT[vot]"
  # vot-toolkit pulls opencv-python, whose cv2 would shadow the contrib build (CSRT/KCF trackers live there).
  "$PYTHON" -m pip uninstall --quiet --yes opencv-python >/dev/null 2>&1 || true
  "${PIP[@]}" --force-reinstall --no-deps opencv-contrib-python-headless
  done_list+=("installed vot-toolkit (and restored opencv-contrib-python-headless)")
fi

# ------------------------------------------------------------------------------------------ libjpeg-turbo
have_turbojpeg() { ldconfig -p 2>/dev/null | grep -q 'libturbojpeg\.so'; }
if have_turbojpeg; then
  done_list+=("libturbojpeg already present: jpeg4py decoding enabled")
elif [ "$USE_APT" = 1 ] && command -v apt-get >/dev/null; then
  APT=()
  if [ "$(id -u)" = 0 ]; then APT=(apt-get); elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then APT=(sudo -n apt-get); fi
  if [ ${#APT[@]} -gt 0 ]; then
    say "installing Debian's libturbojpeg0 for fast JPEG decoding"
    if DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -q libturbojpeg0 >/dev/null 2>&1 \
      || { DEBIAN_FRONTEND=noninteractive "${APT[@]}" update -q >/dev/null 2>&1 \
           && DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -q libturbojpeg0 >/dev/null 2>&1; }; then
      done_list+=("installed libturbojpeg0: jpeg4py decoding enabled")
    else
      done_list+=("could not install libturbojpeg0: OpenCV will decode JPEGs")
    fi
  else
    done_list+=("libturbojpeg0 missing and no root/sudo: OpenCV will decode JPEGs (apt-get install libturbojpeg0 to speed up)")
  fi
else
  done_list+=("libturbojpeg0 missing: OpenCV will decode JPEGs")
fi

# ------------------------------------------------------------------------------------------ local settings
"$PYTHON" - <<'EOF'
import pytracking.evaluation.environment as pe
import ltr.admin.environment as le

for name, module in (("pytracking", pe), ("ltr", le)):
    path = module.local_file_path()
    if path.exists():
        print(f"[install] kept existing {name} settings file {path}")
    else:
        module.create_default_local_file(path)
        print(f"[install] wrote default {name} settings file {path}")
EOF

# ---------------------------------------------------------------------------------------------- summary
"$PYTHON" -c "import pytracking, ltr, torch, cv2; print('[install] import check ok: torch', torch.__version__, '| cuda', torch.cuda.is_available(), '| opencv', cv2.__version__)"
for line in "${done_list[@]}"; do say "$line"; done
say "done. Python: $PYTHON"
