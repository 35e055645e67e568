#!/usr/bin/env bash
# Run the cross-built GPU tests ON the GPU machine (no Go there). Build them here
# first with scripts/gpu/build.sh and send .gpu/bin along with the repository
# (it is git-ignored: name it among the folders carried to the machine).
# Runs, in order: the kernel and engine checks (cuda.test), the GPU training checks
# and throughput (training.test -test.run GPU, when built), and PyTorch's eager
# training step of the same CNN at batch 32 and 256 on the same GPU, in FP32 and TF32.
# Extra arguments go to cuda.test, e.g. -test.run Probe.
# Output: "${OUT:-.}/cuda-test.log".
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p "${OUT:-.}"
export OUT=$(realpath "${OUT:-.}") # the tests write their tables there, from their own folders
log="$OUT/cuda-test.log"

# cuBLAS 13 comes with PyTorch as pip wheels (site-packages/nvidia/...): put the
# folders of libcublas.so.13 and libcublasLt.so.13 on the library path.
# (.gpu/stub holds the empty link-time stub: never load that one)
dirs=$({ find / -path '*/.gpu/stub' -prune -o \( -name 'libcublas.so.13*' -o -name 'libcublasLt.so.13*' \) -print 2>/dev/null || true; } |
	xargs -r -n1 dirname | sort -u | paste -sd:)
[[ -n $dirs ]] || { echo "run.sh: libcublas.so.13 not found" | tee "$log" >&2; exit 1; }
export LD_LIBRARY_PATH="$dirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

{
	echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
	nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
	# resolves every symbol now: lists any the binary needs and the libraries lack
	ldd -r .gpu/bin/cuda.test || true
} 2>&1 | tee "$log"
# Each test binary runs in its package's folder, as go test runs it (tests read files beside them).
# A failing binary does not stop the others: the script fails at the end.
# gorgonia.org/cu calls cuInit at start-up and exits 1 if there is no usable GPU.
failed=0
(cd cuda && ../.gpu/bin/cuda.test -test.v "$@" 2>&1) | tee -a "$log" || failed=1
if [[ -x .gpu/bin/training.test ]]; then
	(cd training && ../.gpu/bin/training.test -test.v -test.run GPU 2>&1) | tee -a "$log" || failed=1
fi
# PyTorch in IEEE FP32 and with TF32 tensor cores, as fovea's throughput test runs (its default has TF32
# on for convolutions, off for matmuls).
for precision in fp32 tf32; do
	for batch in 32 256; do
		python3 scripts/torchref/fashion.py bench --model cnn --batch "$batch" --device cuda --precision "$precision" 2>&1 | tee -a "$log" || true
	done
done
exit $failed
