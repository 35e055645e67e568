package graph

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Batch normalisation, as Keras' BatchNormalization on axis 1 (channels of NCHW, or features of (N, C)).
// The training form normalises with the batch's own mean and (biased) variance and is differentiated
// through them; the inference form uses given moving statistics, which are never differentiated. Moving
// statistics are updated outside the graph from BatchStats (see Builder.StateUpdates).

// typeV is the type of per-channel vectors in ops whose main input has any rank.
var typeV = hm.TypeVariable('v')

// channelDims splits a shape (N, C, ...) into N, C and the product of the rest.
func channelDims(s tensor.Shape) (n, c, inner int) {
	n, c = s[0], s[1]
	return n, c, s.TotalSize() / max(n*c, 1)
}

// checkChannels checks that x is (N, C, ...) and that every vector is (C).
func checkChannels(name string, x tensor.Shape, vecs ...tensor.Shape) error {
	if len(x) < 2 {
		return fmt.Errorf("%s: %w: input %v has no channel axis", name, ErrShape, x)
	}
	for _, v := range vecs {
		if len(v) != 1 || v[0] != x[1] {
			return fmt.Errorf("%s: %w: input %v needs per-channel vectors of shape (%d), got %v", name, ErrShape, x, x[1], v)
		}
	}
	return nil
}

// BatchNormTrain is y = γ·(x-μ)/√(σ²+ε) + β with μ, σ² the batch statistics per channel: inputs
// (x, γ, β).
type BatchNormTrain struct {
	pure
	Eps float64
}

func (op BatchNormTrain) Arity() int                       { return 3 }
func (op BatchNormTrain) Kind() string                     { return "batchnorm_train" }
func (op BatchNormTrain) Type() hm.Type                    { return fnType(typeA, typeV, typeV, typeA) }
func (op BatchNormTrain) String() string                   { return fmt.Sprintf("BatchNormTrain{eps=%g}", op.Eps) }
func (op BatchNormTrain) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op BatchNormTrain) Hashcode() uint32                 { return hashcodeOf(op) }
func (op BatchNormTrain) DiffWRT(int) []bool               { return []bool{true, true, true} }
func (op BatchNormTrain) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op BatchNormTrain) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op BatchNormTrain) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 3, "BatchNormTrain")
	if err != nil {
		return nil, err
	}
	if err := checkChannels("BatchNormTrain", s[0], s[1], s[2]); err != nil {
		return nil, err
	}
	return s[0].Clone(), nil
}

func (op BatchNormTrain) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	x, gamma := inputs[0], inputs[1]
	dx, err := G.ApplyOp(BatchNormTrainGrad{Eps: op.Eps}, x, gamma, grad)
	if err != nil {
		return nil, fmt.Errorf("BatchNormTrain gradient wrt input: %w", err)
	}
	dgamma, err := G.ApplyOp(BatchNormGammaGrad{Eps: op.Eps, Rank: x.Dims()}, x, grad)
	if err != nil {
		return nil, fmt.Errorf("BatchNormTrain gradient wrt gamma: %w", err)
	}
	dbeta, err := G.ApplyOp(BiasGrad{Rank: x.Dims()}, grad)
	if err != nil {
		return nil, fmt.Errorf("BatchNormTrain gradient wrt beta: %w", err)
	}
	return G.Nodes{dx, dgamma, dbeta}, nil
}

func (op BatchNormTrain) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	n, c, inner := channelDims(ins[0].Shape())
	if ins[0].Dtype() == tensor.Float32 {
		batchNormTrain(e, n, c, inner, op.Eps, floats[float32](ins[0]), floats[float32](ins[1]), floats[float32](ins[2]), floats[float32](out))
	} else {
		batchNormTrain(e, n, c, inner, op.Eps, floats[float64](ins[0]), floats[float64](ins[1]), floats[float64](ins[2]), floats[float64](out))
	}
	return nil
}

// BatchNormTrainGrad is the gradient of BatchNormTrain with respect to x, from (x, γ, dy).
type BatchNormTrainGrad struct {
	pure
	Eps float64
}

func (op BatchNormTrainGrad) Arity() int    { return 3 }
func (op BatchNormTrainGrad) Kind() string  { return "batchnorm_train_grad" }
func (op BatchNormTrainGrad) Type() hm.Type { return fnType(typeA, typeV, typeA, typeA) }
func (op BatchNormTrainGrad) String() string {
	return fmt.Sprintf("BatchNormTrainGrad{eps=%g}", op.Eps)
}
func (op BatchNormTrainGrad) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op BatchNormTrainGrad) Hashcode() uint32                 { return hashcodeOf(op) }
func (op BatchNormTrainGrad) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op BatchNormTrainGrad) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op BatchNormTrainGrad) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 3, "BatchNormTrainGrad")
	if err != nil {
		return nil, err
	}
	if err := checkChannels("BatchNormTrainGrad", s[0], s[1]); err != nil {
		return nil, err
	}
	if !s[0].Eq(s[2]) {
		return nil, fmt.Errorf("BatchNormTrainGrad: %w: input %v and gradient %v differ", ErrShape, s[0], s[2])
	}
	return s[0].Clone(), nil
}

func (op BatchNormTrainGrad) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	n, c, inner := channelDims(ins[0].Shape())
	if ins[0].Dtype() == tensor.Float32 {
		batchNormTrainGrad(e, n, c, inner, op.Eps, floats[float32](ins[0]), floats[float32](ins[1]), floats[float32](ins[2]), floats[float32](out))
	} else {
		batchNormTrainGrad(e, n, c, inner, op.Eps, floats[float64](ins[0]), floats[float64](ins[1]), floats[float64](ins[2]), floats[float64](out))
	}
	return nil
}

// BatchNormGammaGrad is the gradient of BatchNormTrain with respect to γ, from (x, dy): Σ dy·x̂ per channel.
type BatchNormGammaGrad struct {
	pure
	Eps  float64
	Rank int
}

func (op BatchNormGammaGrad) Arity() int   { return 2 }
func (op BatchNormGammaGrad) Kind() string { return "batchnorm_gamma_grad" }
func (op BatchNormGammaGrad) Type() hm.Type {
	return fnType(tensorOf(op.Rank), tensorOf(op.Rank), tensorOf(1))
}
func (op BatchNormGammaGrad) String() string {
	return fmt.Sprintf("BatchNormGammaGrad{eps=%g rank=%d}", op.Eps, op.Rank)
}
func (op BatchNormGammaGrad) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op BatchNormGammaGrad) Hashcode() uint32                 { return hashcodeOf(op) }
func (op BatchNormGammaGrad) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op BatchNormGammaGrad) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op BatchNormGammaGrad) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 2, "BatchNormGammaGrad")
	if err != nil {
		return nil, err
	}
	if err := checkChannels("BatchNormGammaGrad", s[0]); err != nil {
		return nil, err
	}
	if !s[0].Eq(s[1]) {
		return nil, fmt.Errorf("BatchNormGammaGrad: %w: input %v and gradient %v differ", ErrShape, s[0], s[1])
	}
	return tensor.Shape{s[0][1]}, nil
}

func (op BatchNormGammaGrad) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	n, c, inner := channelDims(ins[0].Shape())
	if ins[0].Dtype() == tensor.Float32 {
		gammaGrad(e, n, c, inner, op.Eps, floats[float32](ins[0]), floats[float32](ins[1]), nil, nil, floats[float32](out))
	} else {
		gammaGrad(e, n, c, inner, op.Eps, floats[float64](ins[0]), floats[float64](ins[1]), nil, nil, floats[float64](out))
	}
	return nil
}

// BatchStats computes the per-channel batch mean and biased variance of x, as a (2, C) tensor: row 0
// the means, row 1 the variances. Training reads it to update moving statistics; it has no gradient.
type BatchStats struct {
	pure
	Rank int
}

func (op BatchStats) Arity() int                       { return 1 }
func (op BatchStats) Kind() string                     { return "batch_stats" }
func (op BatchStats) Type() hm.Type                    { return fnType(tensorOf(op.Rank), tensorOf(2)) }
func (op BatchStats) String() string                   { return fmt.Sprintf("BatchStats{rank=%d}", op.Rank) }
func (op BatchStats) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op BatchStats) Hashcode() uint32                 { return hashcodeOf(op) }
func (op BatchStats) DiffWRT(int) []bool               { return []bool{false} }
func (op BatchStats) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op BatchStats) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}
func (op BatchStats) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("BatchStats has no gradient")
}

func (op BatchStats) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 1, "BatchStats")
	if err != nil {
		return nil, err
	}
	if err := checkChannels("BatchStats", s[0]); err != nil {
		return nil, err
	}
	return tensor.Shape{2, s[0][1]}, nil
}

func (op BatchStats) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	n, c, inner := channelDims(ins[0].Shape())
	if ins[0].Dtype() == tensor.Float32 {
		batchStats(e, n, c, inner, floats[float32](ins[0]), floats[float32](out))
	} else {
		batchStats(e, n, c, inner, floats[float64](ins[0]), floats[float64](out))
	}
	return nil
}

// BatchNormInfer is y = γ·(x-m)/√(v+ε) + β with given statistics: inputs (x, γ, β, m, v). It is
// differentiable with respect to x, γ and β (fine-tuning with frozen statistics), not m and v.
type BatchNormInfer struct {
	pure
	Eps float64
}

func (op BatchNormInfer) Arity() int   { return 5 }
func (op BatchNormInfer) Kind() string { return "batchnorm_infer" }
func (op BatchNormInfer) Type() hm.Type {
	return fnType(typeA, typeV, typeV, typeV, typeV, typeA)
}
func (op BatchNormInfer) String() string                   { return fmt.Sprintf("BatchNormInfer{eps=%g}", op.Eps) }
func (op BatchNormInfer) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op BatchNormInfer) Hashcode() uint32                 { return hashcodeOf(op) }
func (op BatchNormInfer) DiffWRT(int) []bool               { return []bool{true, true, true, false, false} }
func (op BatchNormInfer) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op BatchNormInfer) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op BatchNormInfer) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 5, "BatchNormInfer")
	if err != nil {
		return nil, err
	}
	if err := checkChannels("BatchNormInfer", s[0], s[1], s[2], s[3], s[4]); err != nil {
		return nil, err
	}
	return s[0].Clone(), nil
}

func (op BatchNormInfer) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	x, gamma, mean, variance := inputs[0], inputs[1], inputs[3], inputs[4]
	dx, err := G.ApplyOp(BatchNormInferGrad{Eps: op.Eps}, gamma, variance, grad)
	if err != nil {
		return nil, fmt.Errorf("BatchNormInfer gradient wrt input: %w", err)
	}
	dgamma, err := G.ApplyOp(BatchNormInferGammaGrad{Eps: op.Eps, Rank: x.Dims()}, x, mean, variance, grad)
	if err != nil {
		return nil, fmt.Errorf("BatchNormInfer gradient wrt gamma: %w", err)
	}
	dbeta, err := G.ApplyOp(BiasGrad{Rank: x.Dims()}, grad)
	if err != nil {
		return nil, fmt.Errorf("BatchNormInfer gradient wrt beta: %w", err)
	}
	return G.Nodes{dx, dgamma, dbeta, nil, nil}, nil
}

func (op BatchNormInfer) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	n, c, inner := channelDims(ins[0].Shape())
	if ins[0].Dtype() == tensor.Float32 {
		f := func(i int) []float32 { return floats[float32](ins[i]) }
		batchNormInfer(e, n, c, inner, op.Eps, f(0), f(1), f(2), f(3), f(4), floats[float32](out))
	} else {
		f := func(i int) []float64 { return floats[float64](ins[i]) }
		batchNormInfer(e, n, c, inner, op.Eps, f(0), f(1), f(2), f(3), f(4), floats[float64](out))
	}
	return nil
}

// BatchNormInferGrad is the gradient of BatchNormInfer with respect to x, from (γ, v, dy).
type BatchNormInferGrad struct {
	pure
	Eps float64
}

func (op BatchNormInferGrad) Arity() int    { return 3 }
func (op BatchNormInferGrad) Kind() string  { return "batchnorm_infer_grad" }
func (op BatchNormInferGrad) Type() hm.Type { return fnType(typeV, typeV, typeA, typeA) }
func (op BatchNormInferGrad) String() string {
	return fmt.Sprintf("BatchNormInferGrad{eps=%g}", op.Eps)
}
func (op BatchNormInferGrad) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op BatchNormInferGrad) Hashcode() uint32                 { return hashcodeOf(op) }
func (op BatchNormInferGrad) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op BatchNormInferGrad) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op BatchNormInferGrad) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 3, "BatchNormInferGrad")
	if err != nil {
		return nil, err
	}
	if err := checkChannels("BatchNormInferGrad", s[2], s[0], s[1]); err != nil {
		return nil, err
	}
	return s[2].Clone(), nil
}

func (op BatchNormInferGrad) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	n, c, inner := channelDims(ins[2].Shape())
	if ins[2].Dtype() == tensor.Float32 {
		batchNormInferGrad(e, n, c, inner, op.Eps, floats[float32](ins[0]), floats[float32](ins[1]), floats[float32](ins[2]), floats[float32](out))
	} else {
		batchNormInferGrad(e, n, c, inner, op.Eps, floats[float64](ins[0]), floats[float64](ins[1]), floats[float64](ins[2]), floats[float64](out))
	}
	return nil
}

// BatchNormInferGammaGrad is the gradient of BatchNormInfer with respect to γ, from (x, m, v, dy).
type BatchNormInferGammaGrad struct {
	pure
	Eps  float64
	Rank int
}

func (op BatchNormInferGammaGrad) Arity() int   { return 4 }
func (op BatchNormInferGammaGrad) Kind() string { return "batchnorm_infer_gamma_grad" }
func (op BatchNormInferGammaGrad) Type() hm.Type {
	x := tensorOf(op.Rank)
	return fnType(x, tensorOf(1), tensorOf(1), x, tensorOf(1))
}
func (op BatchNormInferGammaGrad) String() string {
	return fmt.Sprintf("BatchNormInferGammaGrad{eps=%g rank=%d}", op.Eps, op.Rank)
}
func (op BatchNormInferGammaGrad) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op BatchNormInferGammaGrad) Hashcode() uint32                 { return hashcodeOf(op) }
func (op BatchNormInferGammaGrad) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op BatchNormInferGammaGrad) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op BatchNormInferGammaGrad) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 4, "BatchNormInferGammaGrad")
	if err != nil {
		return nil, err
	}
	if err := checkChannels("BatchNormInferGammaGrad", s[0], s[1], s[2]); err != nil {
		return nil, err
	}
	if !s[0].Eq(s[3]) {
		return nil, fmt.Errorf("BatchNormInferGammaGrad: %w: input %v and gradient %v differ", ErrShape, s[0], s[3])
	}
	return tensor.Shape{s[0][1]}, nil
}

func (op BatchNormInferGammaGrad) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	n, c, inner := channelDims(ins[0].Shape())
	if ins[0].Dtype() == tensor.Float32 {
		f := func(i int) []float32 { return floats[float32](ins[i]) }
		gammaGrad(e, n, c, inner, op.Eps, f(0), f(3), f(1), f(2), floats[float32](out))
	} else {
		f := func(i int) []float64 { return floats[float64](ins[i]) }
		gammaGrad(e, n, c, inner, op.Eps, f(0), f(3), f(1), f(2), floats[float64](out))
	}
	return nil
}
