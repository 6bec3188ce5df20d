#!/usr/bin/env bash
# The main job: install what is missing, build, then run the attention demo on the GPU; with
# no GPU, compile the default kernel set for every target with NVRTC instead.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
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
