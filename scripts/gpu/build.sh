#!/usr/bin/env bash
# Cross-build the GPU test binaries here (no GPU needed) for the GPU machine:
#   scripts/gpu/build.sh [./pkg ...]  ->  .gpu/bin/cuda.test .gpu/bin/training.test [.gpu/bin/<pkg>.test ...]
# ./cuda and ./training are always built. GPU code is behind the build tag "gpu", not "cuda": with
# -tags cuda, gorgonia.org/gorgonia builds its cuDNN engine (gorgonia.org/cu/dnn),
# which needs cudnn.h. Needs scripts/gpu/setup.sh run once: Debian puts the CUDA
# 11.8 headers in /usr/include, gcc's default path, so no CGO_CFLAGS are needed.
# cuBLAS is linked against the stub from stub.sh, so the binaries NEED
# libcublas.so.13. Run them there with scripts/gpu/run.sh. See /work/shared/GPU.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

[[ -f /usr/include/cuda.h && -f /usr/include/cublas_v2.h ]] ||
	{ echo "build.sh: no CUDA headers; run scripts/gpu/setup.sh as root" >&2; exit 1; }
scripts/gpu/stub.sh

tag=gpu # the build tag of fovea's GPU code (see above)
# This -L comes before the -L/usr/lib/x86_64-linux-gnu in gorgonia.org/cu/blas's
# #cgo flags, so -lcublas finds the stub, not Debian's libcublas.so.11.
export CGO_LDFLAGS="-L$PWD/.gpu/stub"
mkdir -p .gpu/bin
for pkg in ./cuda ./training "$@"; do
	bin=.gpu/bin/$(basename "$pkg").test
	go test -c -tags "$tag" -ldflags '-s -w' -o "$bin" "$pkg"
	# what the binary will load on the GPU machine
	needed=" $(readelf -d "$bin" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')"
	echo "build.sh: $bin ($(du -h "$bin" | cut -f1)) NEEDS$needed"
	[[ $needed != *" libcublas.so.11 "* ]] || { echo "build.sh: $bin NEEDS libcublas.so.11" >&2; exit 1; }
	[[ $pkg != ./cuda ]] || for lib in libcuda.so.1 libcublas.so.13; do
		[[ $needed == *" $lib "* ]] || { echo "build.sh: $bin does not NEED $lib" >&2; exit 1; }
	done
done
