#!/usr/bin/env bash
# Build .gpu/stub/libcublas.so.13: a stub cuBLAS to link GPU (-tags gpu) binaries
# against here, so that they NEED libcublas.so.13 (the GPU machine's cuBLAS,
# from CUDA 13) instead of Debian's libcublas.so.11, whose versioned symbols
# would not resolve there. Every symbol in cublas_symbols.txt becomes an empty
# function; at run time the real library's default symbol versions bind to the
# binary's unversioned references. See /work/shared/GPU.md, route step 4.
set -euo pipefail
cd "$(dirname "$0")/../.."

out=.gpu/stub
mkdir -p "$out"
# one empty definition per listed symbol (comments and blank lines skipped)
grep -v -e '^#' -e '^[[:space:]]*$' scripts/gpu/cublas_symbols.txt |
	sed 's/.*/void &(void) {}/' >"$out/cublas_stub.c"
gcc -shared -fPIC -Wl,-soname,libcublas.so.13 -o "$out/libcublas.so.13" "$out/cublas_stub.c"
ln -sf libcublas.so.13 "$out/libcublas.so" # so that -lcublas finds it
echo "stub.sh: $out/libcublas.so.13 with $(wc -l <"$out/cublas_stub.c") symbols"
