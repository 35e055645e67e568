#!/usr/bin/env bash
# One GPU session in one command, ON the GPU machine, from the file scripts/gpu/pack.sh made:
#   scripts/gpu/session.sh [-within SECONDS] [checks] [resnet34 FLAGS...]... [fashion-cnn FLAGS...]...
# "checks" runs scripts/gpu/run.sh (every kernel against the CPU, the engine and training checks,
# PyTorch's CNN step on the same GPU); "resnet34 FLAGS" trains ResNet-34 on Fashion-MNIST on the GPU
# with those flags (e.g. resnet34 -recipe better -epochs 20 -flip -erase 0.5), "fashion-cnn FLAGS" the
# book's CNN (e.g. fashion-cnn -cuda-graphs). The training runs start at once and run side by side on
# the one GPU, the checks meanwhile (so timings measured in such a session are not clean: run a timed
# job alone). -within stops whatever still runs after SECONDS, so
# the logs come back even when a run would outlast the device tool's limit (give it less than
# timeout_s). Logs and run folders go to $OUT (default runs/gpu/session), packed as one tar (the
# tool returns few files).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-runs/gpu/session}
within=0
if [[ ${1:-} == -within ]]; then
	within=$2
	shift 2
fi
mkdir -p "$out" .gpu
[[ -x .gpu/bin/resnet34 ]] || xz -dc .gpu/carry.tar.xz | tar -C .gpu -xf -
export FOVEA_DATA=$PWD/.gpu/data
dirs=$({ find / -path '*/.gpu/stub' -prune -o \( -name 'libcublas.so.13*' -o -name 'libcublasLt.so.13*' \) -print 2>/dev/null || true; } |
	xargs -r -n1 dirname | sort -u | paste -sd:)
export LD_LIBRARY_PATH="$dirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
work=$(mktemp -d)
trap 'tar -C "$work" --exclude="*.safetensors" -czf "$out/session.tar.gz" . ; rm -rf "$work"' EXIT
# limit runs a command under the session's deadline, if it has one.
start=$SECONDS
limit() {
	if ((within > 0)); then
		local left=$((within - (SECONDS - start)))
		timeout --kill-after=5 $((left > 0 ? left : 1)) "$@"
	else
		"$@"
	fi
}

checks=false
runs=()
while (($#)); do
	case $1 in
	checks)
		checks=true
		shift
		;;
	resnet34 | fashion-cnn)
		cmd=$1
		shift
		flags=()
		while (($#)) && [[ $1 != checks && $1 != resnet34 && $1 != fashion-cnn ]]; do
			flags+=("$1")
			shift
		done
		name=$cmd$(printf '%s' "${flags[*]}" | tr -c 'A-Za-z0-9.' '_')
		echo "session.sh: starting $name"
		(
			t0=$SECONDS
			limit ".gpu/bin/$cmd" -device cuda -offline -out "$work/$name" "${flags[@]}" >"$work/$name.log" 2>&1 &&
				echo "session.sh: $name done in $((SECONDS - t0)) s" ||
				echo "session.sh: $name failed or was stopped after $((SECONDS - t0)) s (see $name.log)"
			tail -3 "$work/$name.log"
		) &
		runs+=($!)
		;;
	*)
		echo "session.sh: unknown part $1 (want checks, resnet34 FLAGS or fashion-cnn FLAGS)" >&2
		exit 2
		;;
	esac
done
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >"$work/machine.txt" 2>&1 || true
if $checks; then
	OUT=$work limit scripts/gpu/run.sh >/dev/null 2>&1 || echo "session.sh: checks failed or were stopped (see cuda-test.log)"
	grep -E -- '^(--- |ok|PASS|FAIL)|^    --- FAIL' "$work/cuda-test.log" || true
fi
for pid in "${runs[@]}"; do
	wait "$pid" || true
done
