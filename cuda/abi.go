package cuda

// The kernel ABI: the contract between a device plan (plan.go), fovea's CUDA C kernels
// (kernels/fovea.cu, compiled to kernels/fovea.ptx) and their Go emulations (emulate.go), which the CPU
// interpreter runs so that a plan is tested without a GPU.
//
// Every kernel takes, first, the number of work items n (a 64-bit integer) and processes items
// i = 0..n-1 in a grid-stride loop, so any launch shape covers the work; item i never depends on what
// another item writes. The parameters after n are listed by Kernels, in order. Pointers are device
// addresses of float32, int32, int64 or float64 arrays (float64 only for scratch that carries the CPU's
// float64 intermediates, such as batch normalisation's per-channel statistics, from one kernel to the
// next); "i32" is a 32-bit int, "f32" a float, "f64" a double, "u64" an unsigned 64-bit integer. A
// "nullable" pointer may be 0, which the kernel documents.

// ParamType is the type of one kernel parameter.
type ParamType int

const (
	PtrF32 ParamType = iota // float*
	PtrI32                  // const int*
	PtrI64                  // const long long*
	I32                     // int
	F32                     // float
	U64                     // unsigned long long
	PtrF64                  // double*
	F64                     // double
)

func (t ParamType) String() string {
	switch t {
	case PtrF32:
		return "f32*"
	case PtrI32:
		return "i32*"
	case PtrI64:
		return "i64*"
	case I32:
		return "i32"
	case F32:
		return "f32"
	case U64:
		return "u64"
	case PtrF64:
		return "f64*"
	case F64:
		return "f64"
	}
	return "?"
}

// Param is one kernel parameter: its name (as in the CUDA C source) and type.
type Param struct {
	Name string
	Type ParamType
}

// KernelSpec names a kernel and its parameters after n.
type KernelSpec struct {
	Name   string
	Params []Param
	// Doc says what item i computes.
	Doc string
	// OneWave launches at most as many blocks as the GPU holds at once, so that each thread strides
	// over many items: for kernels that set up per thread (im2col splits its first index into digits,
	// then steps them without dividing).
	OneWave bool
}

// geometry is the parameter list shared by the window kernels (convolution lowering and pooling):
// batch N, channels C, input H×W, window KH×KW, strides SH, SW, padding before (PT, PL), output OH×OW.
var geometry = []Param{
	{"N", I32}, {"C", I32}, {"H", I32}, {"W", I32}, {"KH", I32}, {"KW", I32},
	{"SH", I32}, {"SW", I32}, {"PT", I32}, {"PL", I32}, {"OH", I32}, {"OW", I32},
}

func with(ps []Param, more ...Param) []Param {
	return append(append([]Param{}, ps...), more...)
}

func ptrs(names ...string) []Param {
	out := make([]Param, len(names))
	for i, n := range names {
		out[i] = Param{n, PtrF32}
	}
	return out
}

// Kernels is the catalogue of fovea's device kernels. Flags: bit 0 = has bias, bit 1 = has scale,
// bit 2 = ReLU.
var Kernels = []KernelSpec{
	{Name: "fill", Params: []Param{{"y", PtrF32}, {"v", F32}}, Doc: "y[i] = v"},
	{Name: "copy", Params: ptrs("x", "y"), Doc: "y[i] = x[i]"},
	{Name: "add", Params: ptrs("a", "b", "y"), Doc: "y[i] = a[i] + b[i]"},
	{Name: "relu", Params: ptrs("x", "y"), Doc: "y[i] = max(x[i], 0)"},
	{Name: "relu_grad", Params: ptrs("y", "dy", "dx"), Doc: "dx[i] = y[i] > 0 ? dy[i] : 0 (y is the ReLU's output)"},
	{Name: "channel_affine", Params: with(ptrs("x", "scale", "bias", "y"), Param{"C", I32}, Param{"inner", I32}, Param{"flags", I32}),
		Doc: "c = (i / inner) % C; v = x[i]; if flags&2 { v *= scale[c] }; if flags&1 { v += bias[c] }; if flags&4 { v = max(v, 0) }; y[i] = v. " +
			"BiasAdd on (N, C) has inner 1, on (N, C, H, W) inner H·W. scale and bias are nullable when their flag is clear."},
	{Name: "scatter_channels", Params: with(ptrs("src", "scale", "bias", "dst"), Param{"nb", I32}, Param{"O", I32}, Param{"P", I32}, Param{"flags", I32}),
		OneWave: true,
		Doc: "dst is (nb, O, P), src is O × (nb·P) (a GEMM's output): n = i/(O·P), c = (i/P)%O, q = i%P; " +
			"v = src[c·nb·P + n·P + q], then the channel_affine epilogue with channel c; dst[i] = v."},
	{Name: "gather_channels", Params: with(ptrs("src", "dst"), Param{"nb", I32}, Param{"O", I32}, Param{"P", I32}),
		OneWave: true,
		Doc:     "the inverse layout change: dst is O × (nb·P), src is (nb, O, P): c = i/(nb·P), r = i%(nb·P), n = r/P, q = r%P; dst[i] = src[(n·O + c)·P + q]"},
	{Name: "copy_blocks", Params: with(ptrs("x", "y"), Param{"size", I32}, Param{"xStride", I32}, Param{"yStride", I32}),
		Doc: "copies rows of size values between strided layouts: r = i/size, q = i%size; y[r·yStride + q] = x[r·xStride + q] " +
			"(x and y point at the first row). Concat copies each input into its range of the output's rows, ConcatGrad its range out of the gradient's"},
	{Name: "im2col", Params: with(ptrs("x", "col"), geometry...), OneWave: true,
		Doc: "col is (C·KH·KW) × (N·OH·OW): row = i/(N·OH·OW), c = row/(KH·KW), ki = row%(KH·KW)/KW, kj = row%KW; " +
			"column j = i%(N·OH·OW), n = j/(OH·OW), oy = j%(OH·OW)/OW, ox = j%OW; iy = oy·SH−PT+ki, ix = ox·SW−PL+kj; " +
			"col[i] = x[((n·C + c)·H + iy)·W + ix] inside the image, else 0"},
	{Name: "col2im", Params: with(ptrs("col", "dx"), geometry...), OneWave: true,
		Doc: "the adjoint of im2col, one item per input pixel (no atomics): dx[i] = Σ col[row, column] over every (ki, kj, oy, ox) whose tap reads pixel i"},
	{Name: "maxpool", Params: with(ptrs("x", "y"), geometry...),
		Doc: "y (N, C, OH, OW): y[i] = max of x over the window's in-image pixels (padding never wins), as graph.MaxPool2D"},
	{Name: "maxpool_grad", Params: with(ptrs("x", "y", "dy", "dx"), geometry...),
		OneWave: true,
		Doc:     "one item per input pixel: dx[i] = Σ dy[o] over the windows o whose first in-image pixel (row-major) equal to y[o] is pixel i, as graph.MaxPool2DGrad"},
	{Name: "maxpool_relu_grad", Params: with(ptrs("x", "y", "dy", "dx"), geometry...),
		OneWave: true,
		Doc:     "maxpool_grad, then relu_grad's mask with x as the ReLU's output: dx[i] = x[i] > 0 ? maxpool_grad's dx[i] : 0, as graph.MaxPoolReLUGrad"},
	{Name: "avgpool", Params: with(ptrs("x", "y"), geometry...),
		Doc: "y[i] = mean of x over the window, with graph.AvgPool2D's divisor"},
	{Name: "avgpool_grad", Params: with(ptrs("dy", "dx"), geometry...),
		Doc: "one item per input pixel: dx[i] = Σ dy[o]/divisor(o) over the windows o containing pixel i, as graph.AvgPool2DGrad"},
	{Name: "depthwise_conv", Params: with(ptrs("x", "w", "y"), with(geometry, Param{"M", I32})...),
		Doc: "y (N, C·M, OH, OW) = graph.DepthwiseConv2D of x (N, C, H, W) with w (C·M, 1, KH, KW), one item per output: " +
			"o = i/(OH·OW)%(C·M), n = i/(C·M·OH·OW); y[i] = Σ w[o, ki, kj]·x[n, o/M, oy·SH−PT+ki, ox·SW−PL+kj] over the in-image taps, " +
			"row-major, in float32"},
	{Name: "depthwise_conv_grad_input", Params: with(ptrs("w", "dy", "dx"), with(geometry, Param{"M", I32})...),
		Doc: "the adjoint of depthwise_conv, one item per input pixel (no atomics), as graph.DepthwiseConv2DBackpropInput: " +
			"dx[n, c, iy, ix] = Σ w[o, ki, kj]·dy[n, o, oy, ox] over o = c·M … c·M+M−1, then the taps (ki, kj) row-major whose output (oy, ox) reads the pixel, in float32"},
	{Name: "depthwise_conv_grad_filter", Params: with([]Param{{"x", PtrF32}, {"dy", PtrF32}, {"partial", PtrF64}}, with(geometry, Param{"M", I32})...),
		Doc: "the first level of graph.DepthwiseConv2DBackpropFilter, one item per (image, weight): n = i/(C·M·KH·KW), r = i%(C·M·KH·KW), " +
			"o = r/(KH·KW), ki = r%(KH·KW)/KW, kj = r%KW; partial[i] = Σ dy[n, o, oy, ox]·x[n, o/M, oy·SH−PT+ki, ox·SW−PL+kj] over the in-image " +
			"outputs, row-major, in float64. channel_sums (count 1) then sums the images and narrow rounds to dw"},
	{Name: "depthwise_maxpool", Params: with(ptrs("x", "y"), Param{"K", I32}, Param{"plane", I32}),
		Doc: "graph.DepthwiseMaxPool, one item per output of (N·C/K, plane = H·W): p = i/plane, q = i%plane; y[i] = the first maximum " +
			"(a later channel wins only when greater) of x[(p·K + c)·plane + q] over c = 0 … K−1"},
	{Name: "depthwise_maxpool_grad", Params: with(ptrs("x", "dy", "dx"), Param{"K", I32}, Param{"plane", I32}),
		Doc: "graph.DepthwiseMaxPoolGrad, one item per input of (N·C, plane): r = i/plane, q = i%plane, p = r/K; " +
			"dx[i] = dy[p·plane + q] if channel r%K is the first maximum of its group at q (as depthwise_maxpool picks), else 0"},
	{Name: "dropout", Params: []Param{{"x", PtrF32}, {"step", PtrI64}, {"y", PtrF32}, {"threshold", I32}, {"scale", F32}, {"seed", U64}},
		Doc: "key = mix64(seed ^ mix64(step[0] + 0x9e3779b97f4a7c15)); y[i] = (mix64(key + i) >> 40) >= threshold ? x[i]·scale : 0, " +
			"bit for bit graph.Dropout (threshold = rate·2²⁴ truncated, scale = 1/(1−rate) in float32); the gradient is the same kernel on dy"},
	{Name: "softmax_xent_rows", Params: []Param{{"logits", PtrF32}, {"labels", PtrI32}, {"loss", PtrF32}, {"K", I32}, {"smoothing", F32}},
		Doc: "one item per sample: loss[i] = −Σ_j t_j log softmax(logits[i])_j with t = (1−ε)·onehot(labels[i]) + ε/K, computed stably (max subtracted)"},
	{Name: "softmax_xent_grad", Params: []Param{{"logits", PtrF32}, {"labels", PtrI32}, {"g", PtrF32}, {"d", PtrF32}, {"K", I32}, {"smoothing", F32}, {"invN", F32}},
		Doc: "one item per logit: r = i/K, j = i%K; d[i] = g[0]·invN·(softmax(logits[r])_j − t_j)"},
	{Name: "correct_rows", Params: []Param{{"logits", PtrF32}, {"labels", PtrI32}, {"correct", PtrF32}, {"K", I32}},
		Doc: "one item per sample: correct[i] = 1 if the first maximum of logits[i] is at labels[i], else 0"},
	{Name: "adam", Params: with(ptrs("p", "g", "m", "v"), Param{"oneMinusB1", F32}, Param{"oneMinusB2", F32}, Param{"cm", F32}, Param{"cg", F32}, Param{"cv", F32}, Param{"lr", F32}, Param{"eps", F32}),
		Doc: "one item per parameter, training's Adam/Nadam update in float32: m[i] += (g[i]−m[i])·oneMinusB1; v[i] += (g[i]²−v[i])·oneMinusB2; " +
			"p[i] −= lr·(cm·m[i] + cg·g[i]) / (√(v[i]·cv) + eps). The host computes the step's scalars as training's optimizer does, " +
			"each rounded to float32: oneMinusB1 = 1 − float32(β1) and oneMinusB2 = 1 − float32(β2) in float32; " +
			"Adam: cm = 1, cg = 0, cv = 1, lr = lr·√(1−β2ᵗ)/(1−β1ᵗ); Nadam: cm = uₜ₊₁/(1−Πuₜ₊₁), cg = (1−uₜ)/(1−Πuₜ), cv = 1/(1−β2ᵗ), lr = lr"},
	{Name: "sgd", Params: with(ptrs("p", "g", "v"), Param{"mu", F32}, Param{"lr", F32}, Param{"nesterov", I32}),
		Doc: "one item per parameter, training's SGD update (Keras' SGD) in float32, each product rounded: with v null (no momentum) " +
			"p[i] −= lr·g[i]; otherwise v[i] = mu·v[i] − lr·g[i], then p[i] += mu·v[i] − lr·g[i] when nesterov is non-zero, else p[i] += v[i]. " +
			"The host passes mu = float32(momentum) and the step's lr = float32(learning rate) as training's optimizer does"},
	{Name: "scale", Params: with(ptrs("p"), Param{"factor", F32}),
		Doc: "p[i] *= factor in float32: training's decoupled weight decay, run after the optimizer's update with factor = float32(1 − lr·rate) from the host"},
	{Name: "global_avgpool", Params: with(ptrs("x", "y"), Param{"size", I32}),
		Doc: "one item per (image, channel) plane of size = H·W pixels: y[i] = (Σ_j x[i·size + j], summed in order in float32) / size, as graph.GlobalAvgPool"},
	{Name: "global_avgpool_grad", Params: with(ptrs("dy", "dx"), Param{"size", I32}),
		Doc: "dx[i] = dy[i/size] / size, as graph.GlobalAvgPoolGrad"},
	{Name: "widen", Params: []Param{{"x", PtrF32}, {"y", PtrF64}}, Doc: "y[i] = (double)x[i]"},
	{Name: "narrow", Params: []Param{{"x", PtrF64}, {"y", PtrF32}}, Doc: "y[i] = (float)x[i]"},
	{Name: "plane_sums", Params: []Param{{"x", PtrF32}, {"w", PtrF32}, {"mean", PtrF64}, {"sums", PtrF64}, {"C", I32}, {"inner", I32}},
		Doc: "the first level of batch normalisation's per-channel reductions, one item per plane of x (N, C, inner): c = i%C; " +
			"sums[i] = Σ_j t(x[i·inner + j]) in float64, j in order, where t(v) = v when mean is null; otherwise, with d = v − mean[c], " +
			"t = w[i·inner + j]·d when w is not null and d·d when it is (w is ignored when mean is null)"},
	{Name: "channel_sums", Params: []Param{{"sums", PtrF64}, {"out", PtrF64}, {"N", I32}, {"C", I32}, {"count", I32}},
		Doc: "the second level, one item per channel: out[i] = (Σ_n sums[n·C + i], n in order) / count in float64; count = N·inner gives a mean, 1 a sum"},
	{Name: "batchnorm_fold", Params: []Param{{"gamma", PtrF32}, {"beta", PtrF32}, {"mean", PtrF64}, {"variance", PtrF64}, {"scale", PtrF32}, {"shift", PtrF32}, {"eps", F64}},
		Doc: "one item per channel: s = γ[i] / √(variance[i] + eps) in float64; scale[i] = (float)s; shift[i] = (float)(β[i] − mean[i]·s), β and mean nullable (0). " +
			"Batch normalisation as the per-channel affine map y = x·scale + shift that channel_affine and scatter_channels apply with flags 3, " +
			"as graph's batchNormTrain, batchNormInfer and convBNForward do; with β and mean null, batchNormInferGrad's dx = dy·scale + 0"},
	{Name: "batchnorm_train_grad", Params: []Param{{"x", PtrF32}, {"dy", PtrF32}, {"gamma", PtrF32}, {"mean", PtrF64}, {"variance", PtrF64},
		{"meanDy", PtrF64}, {"meanDyXc", PtrF64}, {"dx", PtrF32}, {"C", I32}, {"inner", I32}, {"eps", F64}},
		Doc: "c = (i / inner) % C; in float64: inv = 1/√(variance[c] + eps), x̂ = (x[i] − mean[c])·inv; " +
			"dx[i] = (float)(γ[c]·inv·(dy[i] − meanDy[c] − x̂·meanDyXc[c]·inv)), with meanDy the channel's mean of dy and meanDyXc its mean of dy·(x − mean), " +
			"as graph.BatchNormTrainGrad"},
	{Name: "batchnorm_gamma_grad", Params: []Param{{"sum", PtrF64}, {"variance", PtrF64}, {"dgamma", PtrF32}, {"eps", F64}},
		Doc: "one item per channel: dgamma[i] = (float)(sum[i]·(1/√(variance[i] + eps))) with sum[i] = Σ dy·(x − mean) over the channel, " +
			"as graph.BatchNormGammaGrad (batch statistics) and graph.BatchNormInferGammaGrad (given statistics)"},
	{Name: "moving_average", Params: with(ptrs("p", "v"), Param{"momentum", F32}),
		Doc: "p[i] = momentum·p[i] + (1 − momentum)·v[i] in float32, each product rounded: training's update of BatchNorm's moving statistics"},
}

// Spec returns the catalogue entry of a kernel.
func Spec(name string) (KernelSpec, bool) {
	for _, k := range Kernels {
		if k.Name == name {
			return k, true
		}
	}
	return KernelSpec{}, false
}

// Args holds one launch's parameters resolved for an emulation, indexed by the parameter's position
// in its KernelSpec (n excluded). Only the slice matching a parameter's type is set at its index: a
// pointer parameter's slice starts at the pointer and runs to the end of its buffer (nil for a null
// pointer).
type Args struct {
	F32    [][]float32
	I32    [][]int32
	I64    [][]int64
	F64    [][]float64
	Int    []int
	Float  []float32
	Double []float64
	U64    []uint64
}

// emulation is the Go twin of a CUDA kernel: it computes items 0..n-1 exactly as the kernel does.
type emulation func(n int, a *Args)
