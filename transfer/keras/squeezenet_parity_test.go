package keras

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"fovea/arch"
	"fovea/data"
)

// TestSqueezeNetRealPhotoParity converts the real ImageNet SqueezeNet v1.1 weights (the Keras port's
// notop file) with ConvertFile, prepares the first daisy of tf_flowers as the flowers job does (decoded
// by fovea, shorter side capped at 256, centred square crop, data.ResizeBilinear to 224×224 (and to the
// port's default 227×227), SqueezeNet's Caffe BGR normalisation), and compares fovea's float32 fire9 features with those of
// testdata/keras_h5_torch.py, an independent PyTorch SqueezeNet reading the .h5 with h5py, computed in
// float64 on the very same float32 input tensor: relative error below 1e-4. The pretrained features
// must also look like features: finite, partly zero and partly positive, spread over many channels.
func TestSqueezeNetRealPhotoParity(t *testing.T) {
	h5 := realSqueezeNet(t)
	root := os.Getenv("FOVEA_DATA")
	if _, err := os.Stat(filepath.Join(root, data.FlowersFolder, "daisy")); err != nil {
		t.Skipf("no tf_flowers photos under $FOVEA_DATA: %v", err)
	}
	needTorch(t)
	tests := []struct {
		class string
		size  int
	}{
		{"daisy", 224}, // the flowers job's input size
		{"daisy", 227}, // the Keras port's default
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %d", tc.class, tc.size), func(t *testing.T) {
			start := time.Now()
			bb := arch.SqueezeNet{Height: tc.size, Width: tc.size}
			weights := filepath.Join(t.TempDir(), "squeezenet.safetensors")
			if _, err := ConvertFile(h5, weights, bb); err != nil {
				t.Fatal(err)
			}
			photos, path := firstPhoto(t, root, tc.class)
			x := caffeInput(t, photos, bb, tc.size)
			prepared := time.Since(start)

			t0 := time.Now()
			got, shape := backboneFeatures(t, bb, weights, x, 1)
			goTime := time.Since(t0)
			// conv1 (VALID, stride 2) 111 (113 at 227), pool1 55 (56), pool3 27, pool5 13.
			if !slices.Equal(shape, []int{1, 512, 13, 13}) {
				t.Fatalf("features %v, want [1 512 13 13]", shape)
			}
			t1 := time.Now()
			want := torchFeatures(t, "squeezenet", h5, x, [4]int{1, 3, tc.size, tc.size})
			torchTime := time.Since(t1)
			if len(want) != len(got) {
				t.Fatalf("PyTorch returned %d values, fovea %d", len(want), len(got))
			}
			rel := relativeError(got, want)
			st := featureStats(got, shape)
			t.Logf("%s: features %v, max relative error %.3g (largest |feature| %.4g); %.1f%% positive, %d of %d channels active, mean %.3g, channel means' spread %.3g; "+
				"convert and prepare %v, fovea forward %v, PyTorch %v",
				path, shape, rel, maxAbs64(want), 100*st.positive, st.activeChannels, shape[1], st.mean, st.channelSpread,
				prepared.Round(time.Millisecond), goTime.Round(time.Millisecond), torchTime.Round(time.Millisecond))
			if rel > 1e-4 {
				t.Errorf("max |fovea − PyTorch| / max |PyTorch| = %.3g, want ≤ 1e-4", rel)
			}
			// Features of ImageNet weights on a photo: ReLU outputs, some zero and some positive, in many
			// channels, varying across channels. Bounds are loose on purpose: they catch weights that
			// did not arrive (all zero, one constant, NaN), not a change of photo.
			if !st.finite {
				t.Fatal("features are not all finite")
			}
			if st.positive < 0.01 || st.positive > 0.99 {
				t.Errorf("%.3g of the features are positive, want between 1%% and 99%%", st.positive)
			}
			if st.activeChannels < shape[1]/8 {
				t.Errorf("only %d of %d channels respond to the photo", st.activeChannels, shape[1])
			}
			if st.channelSpread <= 0.1*st.mean {
				t.Errorf("channel means hardly vary (standard deviation %.3g, mean %.3g)", st.channelSpread, st.mean)
			}
		})
	}
}

// firstPhoto decodes the first photo of class in root's tf_flowers as RunFlowers does (shorter side
// capped at 256) and returns it as a one-photo set with its path.
func firstPhoto(t *testing.T, root, class string) (*data.Images, string) {
	t.Helper()
	folder, err := data.ScanFlowers(root)
	if err != nil {
		t.Fatal(err)
	}
	label := slices.Index(folder.ClassNames, class)
	i := slices.Index(folder.Labels, int32(label))
	if label < 0 || i < 0 {
		t.Fatalf("no %s photo in %s", class, folder.Dir)
	}
	photos, err := folder.Subset([]int{i}).Load(data.LoadOptions{ShorterSide: 256})
	if err != nil {
		t.Fatal(err)
	}
	return photos, photos.Paths[0]
}

// caffeInput is the network input of the one photo in photos: the centred square crop resized to
// size×size with data.ResizeBilinear, then bb's normalisation (for SqueezeNet, Caffe's: BGR order, the
// ImageNet mean subtracted), as a 1×3×size×size NCHW float32 tensor. The ImageBatcher that the flowers
// job evaluates with must give the same tensor, bit for bit.
func caffeInput(t *testing.T, photos *data.Images, bb arch.Backbone, size int) []float32 {
	t.Helper()
	norm := bb.Preprocessing()
	if err := norm.Validate(3); err != nil {
		t.Fatal(err)
	}
	p := photos.Photos[0]
	hwc, err := data.ResizeBilinear(p, data.CenterSquareCrop(p.H, p.W), size, size)
	if err != nil {
		t.Fatal(err)
	}
	hw := size * size
	x := make([]float32, 3*hw)
	for c := range 3 {
		src, mean, scale := norm.Source(c), norm.Mean[c], norm.Scale[c]
		for i := range hw {
			x[c*hw+i] = (hwc[3*i+src] - mean) * scale
		}
	}

	batcher, err := data.NewImageBatcher(photos, data.ImageBatchOptions{BatchSize: 1, Size: size, Norm: norm, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer batcher.Close()
	fromBatcher, labels := make([]float32, 3*hw), make([]int32, 1)
	if n, ok := batcher.Next(fromBatcher, labels); n != 1 || !ok {
		t.Fatalf("image batcher gave %d photos", n)
	}
	for i := range x {
		if x[i] != fromBatcher[i] {
			t.Fatalf("the image batcher's input differs at value %d: %v, ResizeBilinear and the normalisation give %v", i, fromBatcher[i], x[i])
		}
	}
	return x
}

// featureSummary describes ReLU features of shape (1, C, H, W).
type featureSummary struct {
	finite         bool
	positive       float64 // fraction of values above zero
	activeChannels int     // channels with a positive value somewhere
	mean           float64 // mean value
	channelSpread  float64 // standard deviation of the per-channel means
}

// featureStats summarises features v of shape (1, C, H, W).
func featureStats(v []float32, shape []int) featureSummary {
	r := featureSummary{finite: true}
	channels, hw := shape[1], shape[2]*shape[3]
	means := make([]float64, channels)
	positive := 0
	for c := range channels {
		active := false
		for _, x := range v[c*hw : (c+1)*hw] {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				r.finite = false
			}
			if x > 0 {
				positive++
				active = true
			}
			means[c] += float64(x) / float64(hw)
		}
		if active {
			r.activeChannels++
		}
		r.mean += means[c] / float64(channels)
	}
	for _, m := range means {
		r.channelSpread += (m - r.mean) * (m - r.mean) / float64(channels)
	}
	r.channelSpread = math.Sqrt(r.channelSpread)
	r.positive = float64(positive) / float64(len(v))
	return r
}
