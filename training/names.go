package training

import (
	"cmp"
	"slices"
	"strings"
)

// sortedKeys returns a map's keys in order, so checkpoints list tensors deterministically.
func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// splitSlot splits "optimizer/<param name>/<slot>" into the parameter name and the slot.
func splitSlot(name string) (param, slot string, ok bool) {
	rest, found := strings.CutPrefix(name, "optimizer/")
	if !found {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 {
		return "", "", false
	}
	return rest[:i], rest[i+1:], true
}
