package data

import (
	"math/bits"
	"math/rand/v2"
)

// Deterministic randomness. Everything random in this package is a pure
// function of explicit seeds, so runs are reproducible across processes and
// Go versions (the generators are defined here or are math/rand/v2's PCG,
// whose output is specified).

// Domain separators for the different random streams.
const (
	streamShuffle uint64 = 0x53687566666c6521 // "Shuffle!"
	streamAugment uint64 = 0x4175676d656e7421 // "Augment!"
	streamErase   uint64 = 0x4572617365697421 // "Eraseit!"
)

// splitmix64 is the SplitMix64 finaliser: a bijective 64-bit mixer.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// hash3 mixes a seed, a stream and two counters into one 64-bit value.
func hash3(seed, stream, a, b uint64) uint64 {
	h := splitmix64(seed ^ stream)
	h = splitmix64(h ^ a)
	return splitmix64(h ^ b)
}

// uniform returns a value in [0, n) from the 64-bit random word r, unbiased
// enough for n up to a few thousand (bias below n/2^32).
func uniform(r uint64, n int) int {
	return int((uint64(uint32(r)) * uint64(n)) >> 32)
}

// bounded returns an exactly uniform value in [0, n) for n > 0 (Lemire's
// multiply-and-reject method).
func bounded(src *rand.PCG, n uint64) uint64 {
	for {
		hi, lo := bits.Mul64(src.Uint64(), n)
		if lo >= n || lo >= (-n)%n {
			return hi
		}
	}
}
