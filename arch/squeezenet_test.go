package arch

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"fovea/data"
	"fovea/graph"
)

// squeezeNetWeightsFile is the Keras port's ImageNet weights without top, under the data root.
const squeezeNetWeightsFile = "keras-weights/squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5"

// squeezeNetKerasLayers lists the convolution layers of squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5
// in the file's layer order with their kernel shapes (HWIO, as stored), read once with h5py from the
// layer_names and weight_names attributes; every layer also has a bias of the kernel's O elements.
func squeezeNetKerasLayers() []kerasConv {
	return []kerasConv{
		{"conv1", [4]int{3, 3, 3, 64}},
		{"fire2/squeeze1x1", [4]int{1, 1, 64, 16}}, {"fire2/expand1x1", [4]int{1, 1, 16, 64}}, {"fire2/expand3x3", [4]int{3, 3, 16, 64}},
		{"fire3/squeeze1x1", [4]int{1, 1, 128, 16}}, {"fire3/expand1x1", [4]int{1, 1, 16, 64}}, {"fire3/expand3x3", [4]int{3, 3, 16, 64}},
		{"fire4/squeeze1x1", [4]int{1, 1, 128, 32}}, {"fire4/expand1x1", [4]int{1, 1, 32, 128}}, {"fire4/expand3x3", [4]int{3, 3, 32, 128}},
		{"fire5/squeeze1x1", [4]int{1, 1, 256, 32}}, {"fire5/expand1x1", [4]int{1, 1, 32, 128}}, {"fire5/expand3x3", [4]int{3, 3, 32, 128}},
		{"fire6/squeeze1x1", [4]int{1, 1, 256, 48}}, {"fire6/expand1x1", [4]int{1, 1, 48, 192}}, {"fire6/expand3x3", [4]int{3, 3, 48, 192}},
		{"fire7/squeeze1x1", [4]int{1, 1, 384, 48}}, {"fire7/expand1x1", [4]int{1, 1, 48, 192}}, {"fire7/expand3x3", [4]int{3, 3, 48, 192}},
		{"fire8/squeeze1x1", [4]int{1, 1, 384, 64}}, {"fire8/expand1x1", [4]int{1, 1, 64, 256}}, {"fire8/expand3x3", [4]int{3, 3, 64, 256}},
		{"fire9/squeeze1x1", [4]int{1, 1, 512, 64}}, {"fire9/expand1x1", [4]int{1, 1, 64, 256}}, {"fire9/expand3x3", [4]int{3, 3, 64, 256}},
	}
}

// kerasConv is a Keras convolution layer: its name and its kernel's shape.
type kerasConv struct {
	name string
	hwio [4]int
}

// oihw is the shape of a Keras HWIO kernel in fovea's layout.
func oihw(hwio []int) tensor.Shape { return tensor.Shape{hwio[3], hwio[2], hwio[0], hwio[1]} }

func TestSqueezeNetStructure(t *testing.T) {
	params := graph.NewParams()
	b, f := features(t, SqueezeNet{}, params, 1)
	summary := graph.FormatSummary("squeezenet", b.Layers(), params)
	// 722,496: the sum of the sizes of the 50 datasets in the Keras weight file, computed with h5py.
	if want := "Total params: 722,496"; !strings.Contains(summary, want) {
		t.Fatalf("summary lacks %q:\n%s", want, summary)
	}
	if want := (tensor.Shape{1, 512, 13, 13}); !f.Shape().Eq(want) {
		t.Fatalf("features at 227×227: %v, want %v", f.Shape(), want)
	}
	// Parameters, in order, are the file's weights: kernel then bias of each layer.
	all, layers := params.All(), squeezeNetKerasLayers()
	if len(all) != 2*len(layers) {
		t.Fatalf("%d parameters, want %d", len(all), 2*len(layers))
	}
	for i, l := range layers {
		k, bias := all[2*i], all[2*i+1]
		if k.Name != l.name+"/kernel" || !k.Value.Shape().Eq(oihw(l.hwio[:])) {
			t.Errorf("parameter %d: %s %v, want %s/kernel %v", 2*i, k.Name, k.Value.Shape(), l.name, oihw(l.hwio[:]))
		}
		if bias.Name != l.name+"/bias" || !bias.Value.Shape().Eq(tensor.Shape{l.hwio[3]}) {
			t.Errorf("parameter %d: %s %v, want %s/bias (%d)", 2*i+1, bias.Name, bias.Value.Shape(), l.name, l.hwio[3])
		}
	}
	// Summary rows carry the port's layer names, activations and pools included.
	var names []string
	for _, r := range b.Layers()[:14] {
		names = append(names, r.Name)
	}
	want := "conv1 relu_conv1 pool1 fire2/squeeze1x1 fire2/relu_squeeze1x1 fire2/expand1x1 fire2/expand3x3 " +
		"fire2/relu_expand1x1 fire2/relu_expand3x3 fire2/concat fire3/squeeze1x1 fire3/relu_squeeze1x1 fire3/expand1x1 fire3/expand3x3"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("layers\n %s\nwant\n %s", got, want)
	}
}

// TestSqueezeNetMatchesWeightFile reads the layer and weight names and shapes of the real Keras weight
// file with h5py and checks that fovea's parameters are exactly those, in the file's order.
func TestSqueezeNetMatchesWeightFile(t *testing.T) {
	root := os.Getenv(data.EnvRoot)
	if root == "" {
		t.Skipf("$%s is not set; skipping the check against the Keras SqueezeNet weight file", data.EnvRoot)
	}
	path := filepath.Join(root, squeezeNetWeightsFile)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no Keras SqueezeNet weights: %v", err)
	}
	py := findPython(t, "h5py")
	const script = `import h5py, json, sys
f = h5py.File(sys.argv[1], "r")
out = []
for layer in f.attrs["layer_names"]:
    layer = layer.decode()
    g = f[layer]
    for w in g.attrs["weight_names"]:
        w = w.decode()
        out.append({"layer": layer, "kind": w.rsplit("/", 1)[1].split(":")[0], "shape": list(g[w].shape)})
json.dump(out, sys.stdout)
`
	raw, err := exec.Command(py, "-c", script, path).Output()
	if err != nil {
		t.Fatalf("h5py: %v", err)
	}
	var weights []struct {
		Layer string `json:"layer"`
		Kind  string `json:"kind"` // kernel or bias
		Shape []int  `json:"shape"`
	}
	if err := json.Unmarshal(raw, &weights); err != nil {
		t.Fatal(err)
	}
	params := graph.NewParams()
	features(t, SqueezeNet{}, params, 1)
	all := params.All()
	if len(all) != len(weights) {
		t.Fatalf("%d parameters, the file has %d weights", len(all), len(weights))
	}
	total := 0
	for i, w := range weights {
		want := tensor.Shape(w.Shape)
		if len(w.Shape) == 4 {
			want = oihw(w.Shape)
		}
		if all[i].Name != w.Layer+"/"+w.Kind || !all[i].Value.Shape().Eq(want) {
			t.Errorf("parameter %d is %s %v; the file's weight %d is %s/%s %v (as OIHW %v)", i, all[i].Name, all[i].Value.Shape(), i, w.Layer, w.Kind, w.Shape, want)
		}
		total += want.TotalSize()
	}
	t.Logf("%d weights, %d values, match the file %s", len(weights), total, path)
}

// findPython returns a Python interpreter that can import module ($FOVEA_PYTHON, python3, or Debian's
// /usr/bin/python3), or skips the test.
func findPython(t *testing.T, module string) string {
	t.Helper()
	for _, py := range []string{os.Getenv("FOVEA_PYTHON"), "python3", "/usr/bin/python3"} {
		if py == "" {
			continue
		}
		if err := exec.Command(py, "-c", "import "+module).Run(); err == nil {
			return py
		}
	}
	t.Skipf("no Python with %s found (install Debian's python3-%s or set FOVEA_PYTHON): skipping", module, module)
	return ""
}
