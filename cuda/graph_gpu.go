//go:build gpu

package cuda

/*
#cgo LDFLAGS: -lcuda
#include <cuda.h>

static CUresult fovea_begin_capture(CUstream s) {
	return cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
}

static CUresult fovea_end_capture(CUstream s, CUgraph *g) { return cuStreamEndCapture(s, g); }

// fovea_last_node gives the node the stream's capture appended last: its one dependency.
static CUresult fovea_last_node(CUstream s, CUgraphNode *node) {
	CUstreamCaptureStatus status;
	cuuint64_t id;
	CUgraph g;
	const CUgraphNode *deps;
	size_t n;
	CUresult r = cuStreamGetCaptureInfo_v2(s, &status, &id, &g, &deps, &n);
	if (r != CUDA_SUCCESS) return r;
	if (status != CU_STREAM_CAPTURE_STATUS_ACTIVE || n != 1) return CUDA_ERROR_STREAM_CAPTURE_UNMATCHED;
	*node = deps[0];
	return CUDA_SUCCESS;
}

static CUresult fovea_instantiate(CUgraphExec *e, CUgraph g) { return cuGraphInstantiateWithFlags(e, g, 0); }

static CUresult fovea_launch_graph(CUgraphExec e, CUstream s) { return cuGraphLaunch(e, s); }

// fovea_set_node_args gives a kernel node of an instantiated graph new arguments: count 8-byte slots,
// each read as the kernel's parameter type (as a launch reads them).
static CUresult fovea_set_node_args(CUgraphExec e, CUgraphNode node, const unsigned long long *values, int count) {
	unsigned long long slots[64];
	void *params[64];
	if (count > 64) return CUDA_ERROR_INVALID_VALUE;
	for (int i = 0; i < count; i++) {
		slots[i] = values[i];
		params[i] = &slots[i];
	}
	CUDA_KERNEL_NODE_PARAMS p;
	CUresult r = cuGraphKernelNodeGetParams(node, &p);
	if (r != CUDA_SUCCESS) return r;
	p.kernelParams = params;
	p.extra = NULL;
	return cuGraphExecKernelNodeSetParams(e, node, &p);
}

static void fovea_destroy_graph(CUgraph g, CUgraphExec e) {
	if (e != NULL) cuGraphExecDestroy(e);
	if (g != NULL) cuGraphDestroy(g);
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"gorgonia.org/cu"
)

// gemmWorkspaceBytes is the cuBLAS workspace of an engine that captures graphs: cuBLAS may not allocate
// while a stream is captured, and 32 MiB is what NVIDIA advises for Hopper.
const gemmWorkspaceBytes = 32 << 20

// stepGraph replays a plan's launches as one CUDA graph (Plan.Graphs): the first run launches them
// one by one (cuBLAS and the kernels settle their set-up), the second captures them on the engine's
// stream and instantiates the graph, and every run from then on launches the graph, one call instead
// of one per kernel. SetArgs rewrites the arguments of the captured kernel node in place.
type stepGraph struct {
	stream    cu.Stream
	workspace cu.DevicePtr
	runs      int
	graph     C.CUgraph
	exec      C.CUgraphExec
	nodes     []C.CUgraphNode // per launch; nil for GEMMs
}

func (s *stepGraph) cStream() C.CUstream { return C.CUstream(unsafe.Pointer(s.stream.C())) }

// newStepGraph makes the stream the engine's work goes to (blocking, so that the legacy default
// stream's copies are ordered with it) and the cuBLAS workspace.
func newStepGraph() (*stepGraph, error) {
	stream, err := cu.MakeStream(cu.DefaultStream)
	if err != nil {
		return nil, fmt.Errorf("cuda: creating a stream for CUDA graphs: %w", err)
	}
	ws, err := cu.MemAlloc(gemmWorkspaceBytes)
	if err != nil {
		_ = stream.Destroy()
		return nil, fmt.Errorf("cuda: allocating the cuBLAS workspace (%d MB) for CUDA graphs: %w", gemmWorkspaceBytes>>20, err)
	}
	return &stepGraph{stream: stream, workspace: ws}, nil
}

// run runs the engine's launches: directly on the first run, captured on the second, replayed after.
func (s *stepGraph) run(e *Engine) error {
	s.runs++
	switch {
	case s.exec != nil:
		if r := C.fovea_launch_graph(s.exec, s.cStream()); r != C.CUDA_SUCCESS {
			return fmt.Errorf("cuda: launching the step's CUDA graph: CUDA error %d", int(r))
		}
		if err := cu.Synchronize(); err != nil {
			return fmt.Errorf("cuda: kernel failure in the step's CUDA graph: %w", err)
		}
		return nil
	case s.runs == 1:
		return e.runLocked(e.launches)
	}
	if err := s.capture(e); err != nil {
		return err
	}
	return s.run(e)
}

// capture records the engine's launches on the stream as a graph and instantiates it.
func (s *stepGraph) capture(e *Engine) error {
	if r := C.fovea_begin_capture(s.cStream()); r != C.CUDA_SUCCESS {
		return fmt.Errorf("cuda: beginning the capture of a CUDA graph: CUDA error %d", int(r))
	}
	s.nodes = make([]C.CUgraphNode, len(e.launches))
	err := e.issue(e.launches, func(i int) error {
		if r := C.fovea_last_node(s.cStream(), &s.nodes[i]); r != C.CUDA_SUCCESS {
			return fmt.Errorf("cuda: the CUDA graph node of launch %d: CUDA error %d", i, int(r))
		}
		return nil
	})
	var g C.CUgraph
	if r := C.fovea_end_capture(s.cStream(), &g); r != C.CUDA_SUCCESS && err == nil {
		err = fmt.Errorf("cuda: ending the capture of a CUDA graph: CUDA error %d", int(r))
	}
	s.graph = g
	if err != nil {
		return fmt.Errorf("%w (train without CUDA graphs)", err)
	}
	if r := C.fovea_instantiate(&s.exec, s.graph); r != C.CUDA_SUCCESS {
		return fmt.Errorf("cuda: instantiating the step's CUDA graph: CUDA error %d", int(r))
	}
	return nil
}

// setArgs gives launch i's captured node the launch's current arguments (values: n, then the
// parameters' slots), once the graph exists.
func (s *stepGraph) setArgs(i int, values []uint64) error {
	if s.exec == nil || s.nodes[i] == nil {
		return nil
	}
	if r := C.fovea_set_node_args(s.exec, s.nodes[i], (*C.ulonglong)(unsafe.Pointer(&values[0])), C.int(len(values))); r != C.CUDA_SUCCESS {
		return fmt.Errorf("cuda: new arguments for launch %d of the step's CUDA graph: CUDA error %d", i, int(r))
	}
	return nil
}

func (s *stepGraph) close() {
	C.fovea_destroy_graph(s.graph, s.exec)
	s.graph, s.exec = nil, nil
	_ = cu.MemFree(s.workspace)
	_ = s.stream.Destroy()
}
