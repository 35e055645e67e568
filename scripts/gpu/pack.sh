#!/usr/bin/env bash
# Pack everything a GPU session needs into one carried file, here (no GPU needed):
#   scripts/gpu/pack.sh   ->  .gpu/carry.tar.xz
# It holds the GPU test binaries (build.sh), the commands named in $GPU_COMMANDS (default
# "resnet34 fashion-cnn"; each adds about 8 MiB) built with -tags gpu, and Fashion-MNIST from
# $FOVEA_DATA (default ../shared/data), xz-compressed to fit the device tool's 64 MiB carry limit. On the GPU machine,
# scripts/gpu/session.sh unpacks it and runs the checks and jobs. Needs scripts/gpu/setup.sh once.
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${FOVEA_DATA:-$PWD/../shared/data}
[[ -f $data/fashion-mnist/train-images-idx3-ubyte.gz ]] ||
	{ echo "pack.sh: no Fashion-MNIST under $data (set FOVEA_DATA)" >&2; exit 1; }

scripts/gpu/build.sh
export CGO_LDFLAGS="-L$PWD/.gpu/stub"
find .gpu/bin -type f ! -name '*.test' -delete # commands of an earlier pack
for cmd in ${GPU_COMMANDS:-resnet34 fashion-cnn}; do
	go build -tags gpu -ldflags '-s -w' -o ".gpu/bin/$cmd" "./scripts/$cmd"
done
rm -rf .gpu/data && mkdir -p .gpu/data/fashion-mnist
cp "$data"/fashion-mnist/*.gz .gpu/data/fashion-mnist/
tar -C .gpu -cf - bin data | xz -T0 -6 > .gpu/carry.tar.xz
size=$(stat -c %s .gpu/carry.tar.xz)
echo "pack.sh: .gpu/carry.tar.xz $((size / 1048576)) MiB (carry it: run(carry=[\".gpu/carry.tar.xz\"]))"
(( size < 60 * 1048576 )) || { echo "pack.sh: over the 64 MiB carry limit" >&2; exit 1; }
