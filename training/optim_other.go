//go:build !amd64 || purego

package training

// adaptiveUpdate updates w, m and v from g (see adaptiveConsts).
func adaptiveUpdate(w, g, m, v []float32, k *adaptiveConsts) { adaptiveUpdateGo(w, g, m, v, k) }
