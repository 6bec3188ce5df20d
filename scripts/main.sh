#!/usr/bin/env bash
# The main job: install what is missing, build, then run the attention demo on the GPU; with
# no GPU, compile the default kernel set for every target with NVRTC instead.
# On a machine that cannot install packages but holds a build made elsewhere (build/, as on
# the GPU machine), it runs that build.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nvcc >/dev/null || export PATH=/usr/local/cuda/bin:$PATH
if bash scripts/deps.sh; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j"$(nproc)"
elif [ -x build/intfa-demo ]; then
  echo "intfa: cannot install the build dependencies here; using the existing build/"
else
  exit 1
fi
set +e
./build/intfa-demo "$@"
rc=$?
set -e
if [ $rc -eq 77 ]; then
  echo "intfa: no GPU found: compiling the default kernel set for sm_80, sm_86, sm_89, sm_90a instead"
  ./build/intfa-gen --compile --arch sm_80,sm_86,sm_89,sm_90a
else
  exit $rc
fi
