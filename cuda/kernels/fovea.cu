// fovea.cu owns fovea's CUDA C kernels: one extern "C" __global__ function per entry of the kernel
// catalogue (cuda/abi.go, Kernels), named as the entry, taking the number of work items n and then the
// entry's parameters in order. Each kernel is the twin of its Go emulation (cuda/emulate.go): same
// items, same float32/float64 choices, same order of accumulation (the index arithmetic may differ: the layout
// kernels that use for_each_item_digits step digits where the emulations divide). go test -tags hostcuda ./cuda runs this
// file on the CPU against the emulations. gen.go compiles this file to
// fovea.ptx with -fmad=false, so no multiply-add is fused and float32 expressions round exactly as the
// emulations' do.

#define FOR_EACH_ITEM(i, n) \
	for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)

// ---- shared helpers ----

// go_max is Go's max for floats: NaN if either is NaN, and max(-0, +0) = +0.
__device__ __forceinline__ float go_max(float a, float b) {
	if (a != a || b != b) return a + b;
	if (a == b) return signbit(a) ? b : a;
	return a > b ? a : b;
}

// relu_epilogue is the epilogue's ReLU, Go's max(v, 0): NaN passes, -0 becomes +0.
__device__ __forceinline__ float relu_epilogue(float v) {
	return v <= 0.0f ? 0.0f : v;
}

// mix64 is the splitmix64 finaliser, bit for bit graph/dropout.go's.
__device__ __forceinline__ unsigned long long mix64(unsigned long long z) {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

// Geometry is the window geometry shared by convolution lowering and pooling (abi.go, geometry).
struct Geometry {
	int N, C, H, W, KH, KW, SH, SW, PT, PL, OH, OW;
};

#define GEOMETRY_PARAMS int N, int C, int H, int W, int KH, int KW, int SH, int SW, int PT, int PL, int OH, int OW
#define GEOMETRY_ARGS {N, C, H, W, KH, KW, SH, SW, PT, PL, OH, OW}

// clip_window gives the input rows [y0, y1) and columns [x0, x1) that output (oy, ox) pools, clipped to
// the image (graph's convGeometry.window).
__device__ __forceinline__ void clip_window(const Geometry& g, int oy, int ox, int& y0, int& y1, int& x0, int& x1) {
	y0 = oy * g.SH - g.PT;
	x0 = ox * g.SW - g.PL;
	y1 = min(y0 + g.KH, g.H);
	x1 = min(x0 + g.KW, g.W);
	y0 = max(y0, 0);
	x0 = max(x0, 0);
}

// windows_over gives the outputs [lo, hi] along one axis whose windows cover input position pos.
__device__ __forceinline__ void windows_over(int pos, int pad, int k, int stride, int out, int& lo, int& hi) {
	int t = pos + pad - k + 1;
	lo = t <= 0 ? 0 : (t + stride - 1) / stride;
	hi = min((pos + pad) / stride, out - 1);
}

// log_sum_exp gives max(row) and log Σ exp(row − max), in double (graph's logSumExp).
__device__ void log_sum_exp(const float* row, int K, double& m, double& lse) {
	m = (double)row[0];
	for (int j = 1; j < K; j++) m = fmax(m, (double)row[j]);
	double s = 0.0;
	for (int j = 0; j < K; j++) s += exp((double)row[j] - m);
	lse = log(s);
}

// ---- elementwise ----

extern "C" __global__ void fill(long long n, float* y, float v) {
	FOR_EACH_ITEM(i, n) { y[i] = v; }
}

extern "C" __global__ void copy(long long n, const float* x, float* y) {
	FOR_EACH_ITEM(i, n) { y[i] = x[i]; }
}

extern "C" __global__ void add(long long n, const float* a, const float* b, float* y) {
	FOR_EACH_ITEM(i, n) { y[i] = a[i] + b[i]; }
}

// relu clears every value whose sign bit is set (graph's relu32), so -0 becomes +0.
extern "C" __global__ void relu(long long n, const float* x, float* y) {
	FOR_EACH_ITEM(i, n) {
		int b = __float_as_int(x[i]);
		y[i] = __int_as_float(b & ~(b >> 31));
	}
}

// relu_grad passes dy where y's bits, as a signed integer, are positive (graph's reluGrad32).
extern "C" __global__ void relu_grad(long long n, const float* y, const float* dy, float* dx) {
	FOR_EACH_ITEM(i, n) { dx[i] = __float_as_int(y[i]) > 0 ? dy[i] : 0.0f; }
}

// ---- per-channel affine maps and layout changes ----

// affine_epilogue is channel c's epilogue: v·scale[c] if flags&2, + bias[c] if flags&1, ReLU if flags&4.
__device__ __forceinline__ float affine_epilogue(float v, const float* scale, const float* bias, int c, int flags) {
	if (flags & 2) v = v * scale[c];
	if (flags & 1) v = v + bias[c];
	if (flags & 4) v = relu_epilogue(v);
	return v;
}

extern "C" __global__ void channel_affine(long long n, const float* x, const float* scale, const float* bias, float* y,
                                          int C, int inner, int flags) {
	FOR_EACH_ITEM(i, n) {
		int c = (int)((i / inner) % C);
		y[i] = affine_epilogue(x[i], scale, bias, c, flags);
	}
}

// The layout kernels below index with 32-bit unsigned arithmetic whenever every index fits (64-bit
// division is many times slower on the GPU), and with 64-bit arithmetic otherwise; both compute the
// same thing.
#define FOR_EACH_ITEM_32(i, n) \
	for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < (unsigned)(n); i += gridDim.x * blockDim.x)

static __device__ __forceinline__ bool fits32(long long a, long long b) { return a < 2147483647LL && b < 2147483647LL; }

// FOR_EACH_ITEM_INDEXED runs item<I>(i, args...) for every item i < n, with I = unsigned when n and the
// largest index the kernel computes (limit) fit in 31 bits, and I = long long otherwise.
#define FOR_EACH_ITEM_INDEXED(n, limit, item, ...)                          \
	do {                                                                    \
		if (fits32((n), (limit))) {                                         \
			FOR_EACH_ITEM_32(i, n) item<unsigned>(i, __VA_ARGS__);          \
		} else {                                                            \
			FOR_EACH_ITEM(i, n) item<long long>(i, __VA_ARGS__);            \
		}                                                                   \
	} while (0)

// RUN_INDEXED calls run<I>(n, args...) with I = unsigned when n and the largest index the kernel
// computes (limit) fit in 31 bits, and I = long long otherwise (FOR_EACH_ITEM_INDEXED's choice, for
// kernels that loop themselves).
#define RUN_INDEXED(n, limit, run, ...)                       \
	do {                                                      \
		if (fits32((n), (limit))) {                           \
			run<unsigned>((unsigned)(n), __VA_ARGS__);        \
		} else {                                              \
			run<long long>((n), __VA_ARGS__);                 \
		}                                                     \
	} while (0)

// Digits writes an index as digits of mixed radices, most significant first: d[k] < radix[k] for k > 0.
// A grid-stride loop splits its first item and its stride into digits once, then steps with
// digits_add (a carry per digit, no division): the layout kernels' index math, which otherwise costs
// several integer divisions per item.
template <int K>
struct Digits {
	unsigned d[K];
};

// split_digits writes v in the radices (radix[0] is ignored: the top digit takes what is left).
template <typename I, int K>
static __device__ __forceinline__ Digits<K> split_digits(I v, const int (&radix)[K]) {
	Digits<K> out;
	for (int k = K - 1; k > 0; k--) {
		I q = v / (I)radix[k];
		out.d[k] = (unsigned)(v - q * (I)radix[k]);
		v = q;
	}
	out.d[0] = (unsigned)v;
	return out;
}

// digits_add adds s to a: every digit of s is below its radix, so each carry is 0 or 1.
template <int K>
static __device__ __forceinline__ void digits_add(Digits<K>& a, const Digits<K>& s, const int (&radix)[K]) {
	unsigned carry = 0;
	for (int k = K - 1; k > 0; k--) {
		unsigned v = a.d[k] + s.d[k] + carry;
		carry = v >= (unsigned)radix[k];
		a.d[k] = carry ? v - (unsigned)radix[k] : v;
	}
	a.d[0] += s.d[0] + carry;
}

// for_each_item_digits runs item(i, digits of i) for this thread's items i < n of a grid-stride loop,
// splitting only the first item and the stride into digits (see Digits).
template <typename I, int K, typename F>
static __device__ __forceinline__ void for_each_item_digits(I n, const int (&radix)[K], F item) {
	I i = (I)blockIdx.x * blockDim.x + threadIdx.x;
	const I stride = (I)gridDim.x * blockDim.x;
	if (i >= n) return;
	Digits<K> at = split_digits<I, K>(i, radix);
	const Digits<K> step = split_digits<I, K>(stride, radix);
	for (;;) {
		item(i, at);
		if (n - i <= stride) break;
		i += stride;
		digits_add(at, step, radix);
	}
}

// scatter_channels item i = (img·O + c)·P + q: digits (img, c, q).
template <typename I>
static __device__ __forceinline__ void scatter_run(I n, const float* src, const float* scale, const float* bias, float* dst,
                                                   int nb, int O, int P, int flags) {
	const int radix[3] = {nb, O, P};
	for_each_item_digits<I, 3>(n, radix, [&](I i, const Digits<3>& at) {
		I img = (I)at.d[0], c = (I)at.d[1], q = (I)at.d[2];
		dst[i] = affine_epilogue(src[(c * (I)nb + img) * (I)P + q], scale, bias, (int)c, flags);
	});
}

extern "C" __global__ void scatter_channels(long long n, const float* src, const float* scale, const float* bias, float* dst,
                                            int nb, int O, int P, int flags) {
	RUN_INDEXED(n, n, scatter_run, src, scale, bias, dst, nb, O, P, flags);
}

// gather_channels item i = (c·nb + img)·P + q: digits (c, img, q).
template <typename I>
static __device__ __forceinline__ void gather_run(I n, const float* src, float* dst, int nb, int O, int P) {
	const int radix[3] = {O, nb, P};
	for_each_item_digits<I, 3>(n, radix, [&](I i, const Digits<3>& at) {
		I c = (I)at.d[0], img = (I)at.d[1], q = (I)at.d[2];
		dst[i] = src[(img * (I)O + c) * (I)P + q];
	});
}

extern "C" __global__ void gather_channels(long long n, const float* src, float* dst, int nb, int O, int P) {
	RUN_INDEXED(n, n, gather_run, src, dst, nb, O, P);
}

template <typename I>
static __device__ __forceinline__ void copy_blocks_item(I i, const float* x, float* y, I size, I xStride, I yStride) {
	I r = i / size;
	I q = i - r * size;
	y[r * yStride + q] = x[r * xStride + q];
}

extern "C" __global__ void copy_blocks(long long n, const float* x, float* y, int size, int xStride, int yStride) {
	long long rows = n / size;
	FOR_EACH_ITEM_INDEXED(n, rows * (long long)max(xStride, yStride), copy_blocks_item, x, y, size, xStride, yStride);
}

// ---- convolution lowering ----

// im2col item i = row·cols + col is tap row = (c·KH + ki)·KW + kj of output position
// col = (img·OH + oy)·OW + ox: digits (c, ki, kj, img, oy, ox).
template <typename I>
static __device__ __forceinline__ void im2col_run(I n, const float* x, float* col, const Geometry& g) {
	const int radix[6] = {g.C, g.KH, g.KW, g.N, g.OH, g.OW};
	for_each_item_digits<I, 6>(n, radix, [&](I i, const Digits<6>& at) {
		int c = (int)at.d[0], ki = (int)at.d[1], kj = (int)at.d[2];
		I img = (I)at.d[3];
		int iy = (int)at.d[4] * g.SH - g.PT + ki;
		int ix = (int)at.d[5] * g.SW - g.PL + kj;
		bool inside = iy >= 0 && iy < g.H && ix >= 0 && ix < g.W;
		col[i] = inside ? x[((img * g.C + c) * g.H + iy) * g.W + ix] : 0.0f;
	});
}

extern "C" __global__ void im2col(long long n, const float* x, float* col, GEOMETRY_PARAMS) {
	const Geometry g = GEOMETRY_ARGS;
	RUN_INDEXED(n, (long long)g.N * g.C * g.H * g.W, im2col_run, x, col, g);
}

// col2im sums, for input pixel i = ((img·C + c)·H + iy)·W + ix, the column entries of every tap that
// reads it, taps in row-major order (the order graph's col2im adds them in): ki ascending is oy
// descending, kj ascending is ox descending.
template <typename I>
static __device__ __forceinline__ void col2im_run(I n, const float* col, float* dx, const Geometry& g) {
	const int radix[4] = {g.N, g.C, g.H, g.W};
	const I cols = (I)g.N * g.OH * g.OW;
	for_each_item_digits<I, 4>(n, radix, [&](I i, const Digits<4>& at) {
		I img = (I)at.d[0];
		int c = (int)at.d[1], iy = (int)at.d[2], ix = (int)at.d[3];
		int oy0, oy1, ox0, ox1;
		windows_over(iy, g.PT, g.KH, g.SH, g.OH, oy0, oy1);
		windows_over(ix, g.PL, g.KW, g.SW, g.OW, ox0, ox1);
		float sum = 0.0f;
		for (int oy = oy1; oy >= oy0; oy--) {
			int ki = iy + g.PT - oy * g.SH;
			for (int ox = ox1; ox >= ox0; ox--) {
				int kj = ix + g.PL - ox * g.SW;
				I row = ((I)c * g.KH + ki) * g.KW + kj;
				I column = (img * g.OH + oy) * g.OW + ox;
				sum += col[row * cols + column];
			}
		}
		dx[i] = sum;
	});
}

extern "C" __global__ void col2im(long long n, const float* col, float* dx, GEOMETRY_PARAMS) {
	const Geometry g = GEOMETRY_ARGS;
	RUN_INDEXED(n, (long long)g.C * g.KH * g.KW * g.N * g.OH * g.OW, col2im_run, col, dx, g);
}

// ---- pooling ----

extern "C" __global__ void maxpool(long long n, const float* x, float* y, GEOMETRY_PARAMS) {
	const Geometry g = GEOMETRY_ARGS;
	FOR_EACH_ITEM(i, n) {
		int ox = (int)(i % g.OW);
		int oy = (int)((i / g.OW) % g.OH);
		const float* in = x + (i / ((long long)g.OH * g.OW)) * g.H * g.W;
		int y0, y1, x0, x1;
		clip_window(g, oy, ox, y0, y1, x0, x1);
		float best = in[y0 * g.W + x0];
		for (int iy = y0; iy < y1; iy++)
			for (int jx = x0; jx < x1; jx++) best = go_max(best, in[iy * g.W + jx]);
		y[i] = best;
	}
}

// first_equal is the index in its plane of the first pixel (row-major) of output (oy, ox)'s window that
// equals m, or of the window's first pixel when none does (graph's firstEqual).
__device__ int first_equal(const Geometry& g, const float* in, int oy, int ox, float m) {
	int y0, y1, x0, x1;
	clip_window(g, oy, ox, y0, y1, x0, x1);
	for (int iy = y0; iy < y1; iy++)
		for (int jx = x0; jx < x1; jx++)
			if (in[iy * g.W + jx] == m) return iy * g.W + jx;
	return y0 * g.W + x0;
}

// maxpool_grad item i = (plane·H + iy)·W + ix, plane = img·C + c: digits (plane, iy, ix). With relu, x is
// a ReLU's output and the gradient passes only where x[i] > 0 (relu_grad's test), as MaxPoolReLUGrad.
template <typename I>
static __device__ __forceinline__ void maxpool_grad_run(I n, const float* x, const float* y, const float* dy, float* dx,
                                                        const Geometry& g, bool relu) {
	const int radix[3] = {g.N * g.C, g.H, g.W};
	for_each_item_digits<I, 3>(n, radix, [&](I i, const Digits<3>& at) {
		I p = (I)at.d[0];
		int iy = (int)at.d[1], ix = (int)at.d[2];
		const float* in = x + p * g.H * g.W;
		const float* out = y + p * g.OH * g.OW;
		const float* grad = dy + p * g.OH * g.OW;
		int self = iy * g.W + ix;
		int oy0, oy1, ox0, ox1;
		windows_over(iy, g.PT, g.KH, g.SH, g.OH, oy0, oy1);
		windows_over(ix, g.PL, g.KW, g.SW, g.OW, ox0, ox1);
		float sum = 0.0f;
		for (int oy = oy0; oy <= oy1; oy++)
			for (int ox = ox0; ox <= ox1; ox++) {
				int o = oy * g.OW + ox;
				if (first_equal(g, in, oy, ox, out[o]) == self) sum += grad[o];
			}
		dx[i] = relu && __float_as_int(in[self]) <= 0 ? 0.0f : sum;
	});
}

extern "C" __global__ void maxpool_grad(long long n, const float* x, const float* y, const float* dy, float* dx,
                                        GEOMETRY_PARAMS) {
	const Geometry g = GEOMETRY_ARGS;
	RUN_INDEXED(n, max(n, (long long)g.N * g.C * g.OH * g.OW), maxpool_grad_run, x, y, dy, dx, g, false);
}

extern "C" __global__ void maxpool_relu_grad(long long n, const float* x, const float* y, const float* dy, float* dx,
                                             GEOMETRY_PARAMS) {
	const Geometry g = GEOMETRY_ARGS;
	RUN_INDEXED(n, max(n, (long long)g.N * g.C * g.OH * g.OW), maxpool_grad_run, x, y, dy, dx, g, true);
}

// pooled_count is the number of in-image pixels of output (oy, ox)'s window: AvgPool2D's divisor
// (padding is not counted).
__device__ __forceinline__ int pooled_count(const Geometry& g, int oy, int ox) {
	int y0, y1, x0, x1;
	clip_window(g, oy, ox, y0, y1, x0, x1);
	return (y1 - y0) * (x1 - x0);
}

extern "C" __global__ void avgpool(long long n, const float* x, float* y, GEOMETRY_PARAMS) {
	const Geometry g = GEOMETRY_ARGS;
	FOR_EACH_ITEM(i, n) {
		int ox = (int)(i % g.OW);
		int oy = (int)((i / g.OW) % g.OH);
		const float* in = x + (i / ((long long)g.OH * g.OW)) * g.H * g.W;
		int y0, y1, x0, x1;
		clip_window(g, oy, ox, y0, y1, x0, x1);
		float s = 0.0f;
		for (int iy = y0; iy < y1; iy++)
			for (int jx = x0; jx < x1; jx++) s += in[iy * g.W + jx];
		y[i] = s / (float)((y1 - y0) * (x1 - x0));
	}
}

extern "C" __global__ void avgpool_grad(long long n, const float* dy, float* dx, GEOMETRY_PARAMS) {
	const Geometry g = GEOMETRY_ARGS;
	FOR_EACH_ITEM(i, n) {
		int ix = (int)(i % g.W);
		int iy = (int)((i / g.W) % g.H);
		const float* grad = dy + (i / ((long long)g.H * g.W)) * g.OH * g.OW;
		int oy0, oy1, ox0, ox1;
		windows_over(iy, g.PT, g.KH, g.SH, g.OH, oy0, oy1);
		windows_over(ix, g.PL, g.KW, g.SW, g.OW, ox0, ox1);
		float sum = 0.0f;
		for (int oy = oy0; oy <= oy1; oy++)
			for (int ox = ox0; ox <= ox1; ox++) sum += grad[oy * g.OW + ox] / (float)pooled_count(g, oy, ox);
		dx[i] = sum;
	}
}

// ---- dropout ----

extern "C" __global__ void dropout(long long n, const float* x, const long long* step, float* y, int threshold, float scale,
                                   unsigned long long seed) {
	unsigned long long key = mix64(seed ^ mix64((unsigned long long)step[0] + 0x9e3779b97f4a7c15ULL));
	FOR_EACH_ITEM(i, n) {
		unsigned int draw = (unsigned int)(mix64(key + (unsigned long long)i) >> 40);
		y[i] = draw >= (unsigned int)threshold ? x[i] * scale : 0.0f;
	}
}

// ---- softmax cross-entropy ----

// An out-of-range label gives NaN (the CPU op returns an error; a kernel cannot).

extern "C" __global__ void softmax_xent_rows(long long n, const float* logits, const int* labels, float* loss, int K,
                                             float smoothing) {
	FOR_EACH_ITEM(i, n) {
		const float* row = logits + i * K;
		int label = labels[i];
		if (label < 0 || label >= K) {
			loss[i] = __int_as_float(0x7fc00000);
			continue;
		}
		double m, lse;
		log_sum_exp(row, K, m, lse);
		double eps = (double)smoothing;
		double rowLoss = -(1.0 - eps) * ((double)row[label] - m - lse);
		if (eps > 0.0) {
			double sum = 0.0;
			for (int j = 0; j < K; j++) sum += (double)row[j] - m - lse;
			rowLoss -= eps / (double)K * sum;
		}
		loss[i] = (float)rowLoss;
	}
}

extern "C" __global__ void softmax_xent_grad(long long n, const float* logits, const int* labels, const float* g, float* d,
                                             int K, float smoothing, float invN) {
	FOR_EACH_ITEM(i, n) {
		long long r = i / K;
		int j = (int)(i % K);
		const float* row = logits + r * K;
		int label = labels[r];
		if (label < 0 || label >= K) {
			d[i] = __int_as_float(0x7fc00000);
			continue;
		}
		double m, lse;
		log_sum_exp(row, K, m, lse);
		double eps = (double)smoothing;
		double t = eps / (double)K;
		if (j == label) t += 1.0 - eps;
		double scale = (double)g[0] * (double)invN;
		d[i] = (float)(scale * (exp((double)row[j] - m - lse) - t));
	}
}

extern "C" __global__ void correct_rows(long long n, const float* logits, const int* labels, float* correct, int K) {
	FOR_EACH_ITEM(i, n) {
		const float* row = logits + i * K;
		int best = 0;
		for (int j = 0; j < K; j++)
			if (row[j] > row[best]) best = j;
		correct[i] = best == labels[i] ? 1.0f : 0.0f;
	}
}

// ---- optimiser ----

// adam is training's adaptive update (Adam, or Nadam through cm, cg, cv): m += (g−m)·oneMinusB1;
// v += (g²−v)·oneMinusB2; p −= lr·(cm·m + cg·g) / (√(v·cv) + eps).
extern "C" __global__ void adam(long long n, float* p, const float* g, float* m, float* v, float oneMinusB1, float oneMinusB2,
                                float cm, float cg, float cv, float lr, float eps) {
	FOR_EACH_ITEM(i, n) {
		float gi = g[i];
		float mi = m[i] + (gi - m[i]) * oneMinusB1;
		float vi = v[i] + (gi * gi - v[i]) * oneMinusB2;
		m[i] = mi;
		v[i] = vi;
		p[i] -= lr * (cm * mi + cg * gi) / (sqrtf(vi * cv) + eps);
	}
}

// sgd is training's SGD update (Keras' SGD): without momentum (v null) p −= lr·g; otherwise
// v = mu·v − lr·g, then p += mu·v − lr·g (Nesterov) or p += v.
extern "C" __global__ void sgd(long long n, float* p, const float* g, float* v, float mu, float lr, int nesterov) {
	FOR_EACH_ITEM(i, n) {
		float gi = g[i];
		if (v == 0) {
			p[i] -= lr * gi;
			continue;
		}
		float vi = mu * v[i] - lr * gi;
		v[i] = vi;
		if (nesterov) {
			p[i] += mu * vi - lr * gi;
		} else {
			p[i] += vi;
		}
	}
}

// ---- depthwise convolution and depthwise max pooling ----

// The depthwise kernels take the window geometry with C the input channels and M the depth multiplier:
// output channel o = c·M + m reads input channel c = o / M through filter o. They index with 32-bit
// arithmetic whenever every index fits, as the layout kernels do.

template <typename I>
static __device__ __forceinline__ void depthwise_conv_item(I i, const float* x, const float* w, float* y, const Geometry& g, int M) {
	I O = (I)g.C * M;
	I ohw = (I)g.OH * g.OW;
	I plane = i / ohw;
	int q = (int)(i - plane * ohw);
	int oy = q / g.OW;
	int ox = q % g.OW;
	I img = plane / O;
	int o = (int)(plane - img * O);
	const float* in = x + (img * g.C + o / M) * ((I)g.H * g.W);
	const float* k = w + (I)o * (g.KH * g.KW);
	float sum = 0.0f;
	for (int ki = 0; ki < g.KH; ki++) {
		int iy = oy * g.SH - g.PT + ki;
		if (iy < 0 || iy >= g.H) continue;
		for (int kj = 0; kj < g.KW; kj++) {
			int ix = ox * g.SW - g.PL + kj;
			if (ix < 0 || ix >= g.W) continue;
			sum += k[ki * g.KW + kj] * in[iy * g.W + ix];
		}
	}
	y[i] = sum;
}

extern "C" __global__ void depthwise_conv(long long n, const float* x, const float* w, float* y, GEOMETRY_PARAMS, int M) {
	const Geometry g = GEOMETRY_ARGS;
	FOR_EACH_ITEM_INDEXED(n, (long long)g.N * g.C * g.H * g.W, depthwise_conv_item, x, w, y, g, M);
}

// depthwise_conv_grad_input gathers, for input pixel i, the gradient of every output that reads it:
// the pixel's M output channels in order, each over its taps in row-major order (as col2im does).
template <typename I>
static __device__ __forceinline__ void depthwise_conv_grad_input_item(I i, const float* w, const float* dy, float* dx,
                                                                      const Geometry& g, int M) {
	I hw = (I)g.H * g.W;
	I plane = i / hw;
	int p = (int)(i - plane * hw);
	int ix = p % g.W;
	int iy = p / g.W;
	I img = plane / g.C;
	int c = (int)(plane - img * g.C);
	I O = (I)g.C * M;
	I ohw = (I)g.OH * g.OW;
	float sum = 0.0f;
	for (int m = 0; m < M; m++) {
		int o = c * M + m;
		const float* k = w + (I)o * (g.KH * g.KW);
		const float* grad = dy + (img * O + o) * ohw;
		for (int ki = 0; ki < g.KH; ki++) {
			int ty = iy + g.PT - ki;
			if (ty < 0 || ty % g.SH != 0 || ty / g.SH >= g.OH) continue;
			int oy = ty / g.SH;
			for (int kj = 0; kj < g.KW; kj++) {
				int tx = ix + g.PL - kj;
				if (tx < 0 || tx % g.SW != 0 || tx / g.SW >= g.OW) continue;
				int ox = tx / g.SW;
				sum += k[ki * g.KW + kj] * grad[oy * g.OW + ox];
			}
		}
	}
	dx[i] = sum;
}

extern "C" __global__ void depthwise_conv_grad_input(long long n, const float* w, const float* dy, float* dx, GEOMETRY_PARAMS,
                                                     int M) {
	const Geometry g = GEOMETRY_ARGS;
	FOR_EACH_ITEM_INDEXED(n, (long long)g.N * g.C * M * g.OH * g.OW, depthwise_conv_grad_input_item, w, dy, dx, g, M);
}

// depthwise_conv_grad_filter sums, for one image and one weight, dy·x over the outputs in row-major
// order, in double; channel_sums then adds the images.
template <typename I>
static __device__ __forceinline__ void depthwise_conv_grad_filter_item(I i, const float* x, const float* dy, double* partial,
                                                                       const Geometry& g, int M) {
	int taps = g.KH * g.KW;
	I O = (I)g.C * M;
	I weights = O * taps;
	I img = i / weights;
	int r = (int)(i - img * weights);
	int o = r / taps;
	int t = r % taps;
	int ki = t / g.KW;
	int kj = t % g.KW;
	const float* in = x + (img * g.C + o / M) * ((I)g.H * g.W);
	const float* grad = dy + (img * O + o) * ((I)g.OH * g.OW);
	double s = 0.0;
	for (int oy = 0; oy < g.OH; oy++) {
		int iy = oy * g.SH - g.PT + ki;
		if (iy < 0 || iy >= g.H) continue;
		for (int ox = 0; ox < g.OW; ox++) {
			int ix = ox * g.SW - g.PL + kj;
			if (ix < 0 || ix >= g.W) continue;
			s += (double)grad[oy * g.OW + ox] * (double)in[iy * g.W + ix];
		}
	}
	partial[i] = s;
}

extern "C" __global__ void depthwise_conv_grad_filter(long long n, const float* x, const float* dy, double* partial,
                                                      GEOMETRY_PARAMS, int M) {
	const Geometry g = GEOMETRY_ARGS;
	long long largest = max((long long)g.N * g.C * g.H * g.W, (long long)g.N * g.C * M * g.OH * g.OW);
	FOR_EACH_ITEM_INDEXED(n, largest, depthwise_conv_grad_filter_item, x, dy, partial, g, M);
}

// depthwise_maxpool keeps the first maximum of each group of K channels at every pixel: a later channel
// wins only when it is greater (graph's depthwiseMaxPool).
template <typename I>
static __device__ __forceinline__ void depthwise_maxpool_item(I i, const float* x, float* y, int K, I plane) {
	I p = i / plane;
	I q = i - p * plane;
	const float* in = x + p * K * plane + q;
	float best = in[0];
	for (int c = 1; c < K; c++) {
		float v = in[c * plane];
		if (v > best) best = v;
	}
	y[i] = best;
}

extern "C" __global__ void depthwise_maxpool(long long n, const float* x, float* y, int K, int plane) {
	FOR_EACH_ITEM_INDEXED(n, n * K, depthwise_maxpool_item, x, y, K, plane);
}

// depthwise_maxpool_grad passes dy to the channel depthwise_maxpool picked and 0 to the group's others
// (graph's depthwiseMaxPoolGrad).
template <typename I>
static __device__ __forceinline__ void depthwise_maxpool_grad_item(I i, const float* x, const float* dy, float* dx, int K, I plane) {
	I r = i / plane;
	I q = i - r * plane;
	I p = r / K;
	int self = (int)(r - p * K);
	const float* in = x + p * K * plane + q;
	int at = 0;
	float best = in[0];
	for (int c = 1; c < K; c++) {
		float v = in[c * plane];
		if (v > best) {
			at = c;
			best = v;
		}
	}
	dx[i] = at == self ? dy[p * plane + q] : 0.0f;
}

extern "C" __global__ void depthwise_maxpool_grad(long long n, const float* x, const float* dy, float* dx, int K, int plane) {
	FOR_EACH_ITEM_INDEXED(n, n, depthwise_maxpool_grad_item, x, dy, dx, K, plane);
}

// ---- global average pooling ----

// global_avgpool sums each plane in order in float32, as graph's globalAvgPool does.
extern "C" __global__ void global_avgpool(long long n, const float* x, float* y, int size) {
	FOR_EACH_ITEM(i, n) {
		const float* plane = x + i * size;
		float s = 0.0f;
		for (int j = 0; j < size; j++) s += plane[j];
		y[i] = s / (float)size;
	}
}

extern "C" __global__ void global_avgpool_grad(long long n, const float* dy, float* dx, int size) {
	FOR_EACH_ITEM(i, n) { dx[i] = dy[i / size] / (float)size; }
}

// ---- batch normalisation ----

// graph's batch normalisation kernels compute per-channel statistics and sums in double; these kernels
// keep them in double scratch between launches (plane_sums, then channel_sums), so only the results are
// rounded to float, where the CPU rounds them.

extern "C" __global__ void widen(long long n, const float* x, double* y) {
	FOR_EACH_ITEM(i, n) { y[i] = (double)x[i]; }
}

extern "C" __global__ void narrow(long long n, const double* x, float* y) {
	FOR_EACH_ITEM(i, n) { y[i] = (float)x[i]; }
}

extern "C" __global__ void plane_sums(long long n, const float* x, const float* w, const double* mean, double* sums, int C,
                                     int inner) {
	FOR_EACH_ITEM(i, n) {
		const float* xs = x + i * inner;
		double s = 0.0;
		if (mean == 0) {
			for (int j = 0; j < inner; j++) s += (double)xs[j];
		} else if (w == 0) {
			double m = mean[i % C];
			for (int j = 0; j < inner; j++) {
				double d = (double)xs[j] - m;
				s += d * d;
			}
		} else {
			double m = mean[i % C];
			const float* ws = w + i * inner;
			for (int j = 0; j < inner; j++) s += (double)ws[j] * ((double)xs[j] - m);
		}
		sums[i] = s;
	}
}

extern "C" __global__ void channel_sums(long long n, const double* sums, double* out, int N, int C, int count) {
	FOR_EACH_ITEM(i, n) {
		double s = 0.0;
		for (int img = 0; img < N; img++) s += sums[(long long)img * C + i];
		out[i] = s / (double)count;
	}
}

extern "C" __global__ void batchnorm_fold(long long n, const float* gamma, const float* beta, const double* mean,
                                          const double* variance, float* scale, float* shift, double eps) {
	FOR_EACH_ITEM(i, n) {
		double s = (double)gamma[i] / sqrt(variance[i] + eps);
		double b = beta == 0 ? 0.0 : (double)beta[i];
		double m = mean == 0 ? 0.0 : mean[i];
		scale[i] = (float)s;
		shift[i] = (float)(b - m * s);
	}
}

extern "C" __global__ void batchnorm_train_grad(long long n, const float* x, const float* dy, const float* gamma,
                                                const double* mean, const double* variance, const double* meanDy,
                                                const double* meanDyXc, float* dx, int C, int inner, double eps) {
	FOR_EACH_ITEM(i, n) {
		int c = (int)((i / inner) % C);
		double inv = 1.0 / sqrt(variance[c] + eps);
		double xhat = ((double)x[i] - mean[c]) * inv;
		double k = (double)gamma[c] * inv;
		double meanDyXhat = meanDyXc[c] * inv;
		dx[i] = (float)(k * ((double)dy[i] - meanDy[c] - xhat * meanDyXhat));
	}
}

extern "C" __global__ void batchnorm_gamma_grad(long long n, const double* sum, const double* variance, float* dgamma,
                                                double eps) {
	FOR_EACH_ITEM(i, n) {
		double inv = 1.0 / sqrt(variance[i] + eps);
		dgamma[i] = (float)(sum[i] * inv);
	}
}

// scale multiplies p by factor in place: decoupled weight decay (factor = 1 − lr·rate each step).
extern "C" __global__ void scale(long long n, float* p, float factor) {
	FOR_EACH_ITEM(i, n) { p[i] *= factor; }
}

// moving_average is training's update of BatchNorm's moving statistics, in float.
extern "C" __global__ void moving_average(long long n, float* p, const float* v, float momentum) {
	FOR_EACH_ITEM(i, n) { p[i] = momentum * p[i] + (1.0f - momentum) * v[i]; }
}
