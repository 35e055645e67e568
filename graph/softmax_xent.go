package graph

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// SoftmaxCrossEntropy is the mean over a batch of the cross-entropy between softmax(logits) and integer
// labels: logits (N, K) and labels (N) of int32 in [0, K) give a scalar, Keras'
// sparse_categorical_crossentropy(from_logits=True). It is computed with log-sum-exp, so large logits do
// not overflow. Smoothing ε > 0 trains against (1-ε)·onehot + ε/K (label smoothing).
type SoftmaxCrossEntropy struct {
	pure
	Smoothing float64
}

func (op SoftmaxCrossEntropy) Arity() int    { return 2 }
func (op SoftmaxCrossEntropy) Kind() string  { return "softmax_cross_entropy" }
func (op SoftmaxCrossEntropy) Type() hm.Type { return fnType(tensorOf(2), int32Tensor(1), typeA) }
func (op SoftmaxCrossEntropy) String() string {
	return fmt.Sprintf("SoftmaxCrossEntropy{smoothing=%g}", op.Smoothing)
}
func (op SoftmaxCrossEntropy) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op SoftmaxCrossEntropy) Hashcode() uint32                 { return hashcodeOf(op) }
func (op SoftmaxCrossEntropy) DiffWRT(int) []bool               { return []bool{true, false} }
func (op SoftmaxCrossEntropy) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op SoftmaxCrossEntropy) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op SoftmaxCrossEntropy) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 2, "SoftmaxCrossEntropy")
	if err != nil {
		return nil, err
	}
	if err := checkLogitsLabels("SoftmaxCrossEntropy", s[0], s[1]); err != nil {
		return nil, err
	}
	if !(op.Smoothing >= 0 && op.Smoothing < 1) {
		return nil, fmt.Errorf("SoftmaxCrossEntropy: label smoothing %g must be in [0, 1)", op.Smoothing)
	}
	return tensor.ScalarShape(), nil
}

func checkLogitsLabels(name string, logits, labels tensor.Shape) error {
	if len(logits) != 2 || len(labels) != 1 || logits[0] != labels[0] {
		return fmt.Errorf("%s: %w: logits %v and labels %v (want (N, K) and (N))", name, ErrShape, logits, labels)
	}
	return nil
}

func (op SoftmaxCrossEntropy) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(SoftmaxCrossEntropyGrad(op), inputs[0], inputs[1], grad)
	if err != nil {
		return nil, fmt.Errorf("SoftmaxCrossEntropy gradient: %w", err)
	}
	return G.Nodes{d, nil}, nil
}

func (op SoftmaxCrossEntropy) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	s := ins[0].Shape()
	labels := int32s(ins[1])
	var err error
	if ins[0].Dtype() == tensor.Float32 {
		floats[float32](out)[0], err = softmaxXent(s[0], s[1], op.Smoothing, floats[float32](ins[0]), labels)
	} else {
		floats[float64](out)[0], err = softmaxXent(s[0], s[1], op.Smoothing, floats[float64](ins[0]), labels)
	}
	return err
}

// SoftmaxCrossEntropyGrad is the gradient of SoftmaxCrossEntropy with respect to the logits, from
// (logits, labels, upstream scalar gradient g): g·(softmax(logits) - target)/N.
type SoftmaxCrossEntropyGrad SoftmaxCrossEntropy

func (op SoftmaxCrossEntropyGrad) Arity() int   { return 3 }
func (op SoftmaxCrossEntropyGrad) Kind() string { return "softmax_cross_entropy_grad" }
func (op SoftmaxCrossEntropyGrad) Type() hm.Type {
	return fnType(tensorOf(2), int32Tensor(1), typeA, tensorOf(2))
}
func (op SoftmaxCrossEntropyGrad) String() string {
	return fmt.Sprintf("SoftmaxCrossEntropyGrad{smoothing=%g}", op.Smoothing)
}
func (op SoftmaxCrossEntropyGrad) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op SoftmaxCrossEntropyGrad) Hashcode() uint32                 { return hashcodeOf(op) }
func (op SoftmaxCrossEntropyGrad) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op SoftmaxCrossEntropyGrad) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op SoftmaxCrossEntropyGrad) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 3, "SoftmaxCrossEntropyGrad")
	if err != nil {
		return nil, err
	}
	if err := checkLogitsLabels("SoftmaxCrossEntropyGrad", s[0], s[1]); err != nil {
		return nil, err
	}
	if s[2].TotalSize() != 1 {
		return nil, fmt.Errorf("SoftmaxCrossEntropyGrad: %w: upstream gradient %v must be a scalar", ErrShape, s[2])
	}
	return s[0].Clone(), nil
}

func (op SoftmaxCrossEntropyGrad) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	s := ins[0].Shape()
	labels := int32s(ins[1])
	if ins[0].Dtype() == tensor.Float32 {
		return softmaxXentGrad(s[0], s[1], op.Smoothing, floats[float32](ins[0]), labels, floats[float32](ins[2])[0], floats[float32](out))
	}
	return softmaxXentGrad(s[0], s[1], op.Smoothing, floats[float64](ins[0]), labels, floats[float64](ins[2])[0], floats[float64](out))
}

// ErrLabel reports a class label outside [0, K).
var ErrLabel = fmt.Errorf("label out of range")

// logSumExp returns max(row) and log Σ exp(row - max), accumulated in float64.
func logSumExp[T Float](row []T) (float64, float64) {
	m := float64(row[0])
	for _, v := range row[1:] {
		m = math.Max(m, float64(v))
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - m)
	}
	return m, math.Log(s)
}

func softmaxXent[T Float](n, k int, eps float64, logits []T, labels []int32) (T, error) {
	var total float64
	for i := 0; i < n; i++ {
		y := int(labels[i])
		if y < 0 || y >= k {
			return 0, fmt.Errorf("%w: sample %d has label %d, want 0..%d", ErrLabel, i, y, k-1)
		}
		row := logits[i*k : (i+1)*k]
		m, lse := logSumExp(row)
		// -Σ t_j log p_j with log p_j = z_j - m - lse and t = (1-ε)·onehot + ε/K.
		logp := func(j int) float64 { return float64(row[j]) - m - lse }
		loss := -(1 - eps) * logp(y)
		if eps > 0 {
			var sum float64
			for j := range row {
				sum += logp(j)
			}
			loss -= eps / float64(k) * sum
		}
		total += loss
	}
	return T(total / float64(n)), nil
}

func softmaxXentGrad[T Float](n, k int, eps float64, logits []T, labels []int32, g T, d []T) error {
	scale := float64(g) / float64(n)
	for i := 0; i < n; i++ {
		y := int(labels[i])
		if y < 0 || y >= k {
			return fmt.Errorf("%w: sample %d has label %d, want 0..%d", ErrLabel, i, y, k-1)
		}
		row, out := logits[i*k:(i+1)*k], d[i*k:(i+1)*k]
		m, lse := logSumExp(row)
		for j, v := range row {
			t := eps / float64(k)
			if j == y {
				t += 1 - eps
			}
			out[j] = T(scale * (math.Exp(float64(v)-m-lse) - t))
		}
	}
	return nil
}

// CountCorrect counts the samples whose largest logit is at their label: logits (N, K) and labels (N)
// give a scalar. It has no gradient; training reads it for accuracy without copying logits off a device.
type CountCorrect struct{ pure }

func (op CountCorrect) Arity() int                       { return 2 }
func (op CountCorrect) Kind() string                     { return "count_correct" }
func (op CountCorrect) Type() hm.Type                    { return fnType(tensorOf(2), int32Tensor(1), typeA) }
func (op CountCorrect) String() string                   { return "CountCorrect" }
func (op CountCorrect) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op CountCorrect) Hashcode() uint32                 { return hashcodeOf(op) }
func (op CountCorrect) DiffWRT(int) []bool               { return []bool{false, false} }
func (op CountCorrect) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op CountCorrect) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}
func (op CountCorrect) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("CountCorrect has no gradient")
}

func (op CountCorrect) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 2, "CountCorrect")
	if err != nil {
		return nil, err
	}
	if err := checkLogitsLabels("CountCorrect", s[0], s[1]); err != nil {
		return nil, err
	}
	return tensor.ScalarShape(), nil
}

func (op CountCorrect) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	s := ins[0].Shape()
	labels := int32s(ins[1])
	if ins[0].Dtype() == tensor.Float32 {
		floats[float32](out)[0] = float32(countCorrect(s[0], s[1], floats[float32](ins[0]), labels))
	} else {
		floats[float64](out)[0] = float64(countCorrect(s[0], s[1], floats[float64](ins[0]), labels))
	}
	return nil
}

func countCorrect[T Float](n, k int, logits []T, labels []int32) int {
	correct := 0
	for i := 0; i < n; i++ {
		row := logits[i*k : (i+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if best == int(labels[i]) {
			correct++
		}
	}
	return correct
}
