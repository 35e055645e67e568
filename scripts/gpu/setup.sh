#!/usr/bin/env bash
# Install the CUDA 11.8 headers, libcuda.so stub and nvcc from Debian, so that
# `-tags cuda` binaries can be cross-built on this (GPU-less) machine.
# Run as root, once per machine; idempotent. Downloads about 2.3 GB.
# See /work/shared/GPU.md (route step 1).
set -euo pipefail

if [[ -f /usr/include/cuda.h ]] && command -v nvcc >/dev/null; then
	echo "setup.sh: CUDA headers and nvcc already present: $(nvcc --version | tail -n1)"
	exit 0
fi

# The CUDA packages live in Debian's contrib and non-free components.
src=/etc/apt/sources.list.d/debian.sources
for c in contrib non-free non-free-firmware; do
	# append $c to every Components: line that does not list it yet
	sed -i -E "/^Components:/{/[[:space:]]$c([[:space:]]|\$)/!s/\$/ $c/}" "$src"
done

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends nvidia-cuda-dev nvidia-cuda-toolkit
echo "setup.sh: done: $(nvcc --version | tail -n1)"
