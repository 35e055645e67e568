#!/usr/bin/env bash
# One GPU session in one command, ON the GPU machine, from the file scripts/gpu/pack.sh made:
#   scripts/gpu/session.sh [checks] [resnet34 FLAGS...]
# "checks" runs scripts/gpu/run.sh (every kernel against the CPU, the engine and training checks,
# PyTorch's CNN step on the same GPU); "resnet34 FLAGS" trains ResNet-34 on Fashion-MNIST on the GPU
# with those flags (e.g. resnet34 -recipe better -epochs 20 -flip -weight-decay 0.1). Logs and run
# folders go to $OUT (default runs/gpu/session), packed as one tar (the tool returns few files).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-runs/gpu/session}
mkdir -p "$out" .gpu
[[ -x .gpu/bin/resnet34 ]] || xz -dc .gpu/carry.tar.xz | tar -C .gpu -xf -
export FOVEA_DATA=$PWD/.gpu/data
dirs=$({ find / -path '*/.gpu/stub' -prune -o \( -name 'libcublas.so.13*' -o -name 'libcublasLt.so.13*' \) -print 2>/dev/null || true; } |
	xargs -r -n1 dirname | sort -u | paste -sd:)
export LD_LIBRARY_PATH="$dirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
work=$(mktemp -d)
trap 'tar -C "$work" -czf "$out/session.tar.gz" . ; rm -rf "$work"' EXIT
while (( $# )); do
	case $1 in
	checks)
		shift
		OUT=$work scripts/gpu/run.sh || echo "session.sh: checks failed (see cuda-test.log)"
		;;
	resnet34)
		shift
		flags=()
		while (( $# )) && [[ $1 != checks && $1 != resnet34 ]]; do flags+=("$1"); shift; done
		name=resnet34$(printf '%s' "${flags[*]}" | tr -c 'A-Za-z0-9.' '_')
		.gpu/bin/resnet34 -device cuda -offline -out "$work/$name" "${flags[@]}" 2>&1 | tee "$work/$name.log" | tail -25 || echo "session.sh: $name failed"
		;;
	*)
		echo "session.sh: unknown part $1 (want checks or resnet34 FLAGS)" >&2; exit 2
		;;
	esac
done
