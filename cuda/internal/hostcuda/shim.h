// shim.h lets fovea's CUDA C kernels (cuda/kernels/fovea.cu) compile as host C++: the CUDA qualifiers
// become nothing or inline, the launch built-ins describe a small grid whose threads run one after
// another, and the device built-ins the kernels use get host definitions with the same results.
// No multiply-add is fused (nvcc compiles the PTX with -fmad=false): ISO C++ mode (-std=c++17) already
// keeps GCC from contracting, and x86-64 without -mfma has no fused instruction; the pragma says so too.
#pragma GCC optimize("fp-contract=off")
#include <math.h>
#include <stdint.h>
#include <string.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline

struct fovea_dim3 {
	unsigned x, y, z;
};
// A launch is a grid of hostGrid blocks of hostBlock threads, run one thread after another (the kernels
// share no memory between threads and never synchronise). The sizes are odd and small, so grid-stride
// loops take strides that are no multiple of any tensor dimension and each thread visits many items.
enum { hostGrid = 3, hostBlock = 37 };
static fovea_dim3 threadIdx = {0, 0, 0}, blockIdx = {0, 0, 0};
static const fovea_dim3 blockDim = {hostBlock, 1, 1}, gridDim = {hostGrid, 1, 1};

static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }
static inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
static inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
static inline long long min(long long a, long long b) { return a < b ? a : b; }
static inline long long max(long long a, long long b) { return a > b ? a : b; }
static inline float min(float a, float b) { return fminf(a, b); }
static inline float max(float a, float b) { return fmaxf(a, b); }
static inline double min(double a, double b) { return fmin(a, b); }
static inline double max(double a, double b) { return fmax(a, b); }

static inline float __int_as_float(int v) {
	float f;
	memcpy(&f, &v, sizeof f);
	return f;
}
static inline int __float_as_int(float f) {
	int v;
	memcpy(&v, &f, sizeof v);
	return v;
}
