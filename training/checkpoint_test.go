package training

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sampleTensors returns one tensor of every supported dtype, with awkward
// values (NaN payloads, -0, ±Inf, extreme integers), a scalar and an empty
// tensor, in an order that is not sorted by name.
func sampleTensors() []NamedTensor {
	nanPayload32 := math.Float32frombits(0x7fc00123)
	nanPayload64 := math.Float64frombits(0x7ff8000000000abc)
	return []NamedTensor{
		{Name: "conv1/kernel", DType: "F32", Shape: []int{2, 1, 3, 3}, Data: []float32{
			0, float32(math.Copysign(0, -1)), 1, -1, 0.1, 3.4028235e38, 1e-45,
			float32(math.Inf(1)), float32(math.Inf(-1)), nanPayload32, 7, 8, 9, 10, 11, 12, 13, 14,
		}},
		{Name: "bn/moving_var", DType: "F64", Shape: []int{4}, Data: []float64{
			math.Pi, math.Copysign(0, -1), nanPayload64, math.SmallestNonzeroFloat64,
		}},
		{Name: "a/labels", DType: "I32", Shape: []int{2, 2}, Data: []int32{math.MinInt32, -1, 0, math.MaxInt32}},
		{Name: "step", DType: "I64", Shape: []int{}, Data: []int64{math.MinInt64}},
		{Name: "rng", DType: "U64", Shape: []int{3}, Data: []uint64{0, 1, math.MaxUint64}},
		{Name: "empty", DType: "F32", Shape: []int{0, 5}, Data: []float32{}},
	}
}

// bitsEqual compares tensor data exactly, NaN payloads included.
func bitsEqual(a, b any) bool {
	switch x := a.(type) {
	case []float32:
		y, ok := b.([]float32)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				return false
			}
		}
		return true
	case []float64:
		y, ok := b.([]float64)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if math.Float64bits(x[i]) != math.Float64bits(y[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func assertTensorsEqual(t *testing.T, got, want []NamedTensor) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d tensors, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.DType != w.DType || !reflect.DeepEqual(g.Shape, w.Shape) {
			t.Errorf("tensor #%d: got %s %s %v, want %s %s %v", i, g.Name, g.DType, g.Shape, w.Name, w.DType, w.Shape)
		}
		if !bitsEqual(g.Data, w.Data) {
			t.Errorf("tensor %s: data %v, want %v", w.Name, g.Data, w.Data)
		}
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		tensors  []NamedTensor
		metadata map[string]string
		wantMeta map[string]string
	}{
		{
			name:    "every dtype with metadata",
			tensors: sampleTensors(),
			metadata: map[string]string{
				"model": "cnn", "epoch": "3", "format": "fovea", "": "empty key", "unicode": "é ✓",
			},
		},
		{name: "nil metadata", tensors: sampleTensors()[:1], metadata: nil, wantMeta: map[string]string{}},
		{name: "empty metadata", tensors: sampleTensors()[4:5], metadata: map[string]string{}, wantMeta: map[string]string{}},
		{name: "scalar only", tensors: sampleTensors()[3:4], metadata: map[string]string{"k": "v"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ckpt.safetensors")
			if err := SaveCheckpoint(path, tt.tensors, tt.metadata); err != nil {
				t.Fatal(err)
			}
			got, meta, err := LoadCheckpoint(path)
			if err != nil {
				t.Fatal(err)
			}
			assertTensorsEqual(t, got, tt.tensors)
			want := tt.metadata
			if tt.wantMeta != nil {
				want = tt.wantMeta
			}
			if meta == nil || !reflect.DeepEqual(meta, want) {
				t.Errorf("metadata %#v, want %#v", meta, want)
			}
		})
	}
}

func TestCheckpointFileLayout(t *testing.T) {
	// The file must follow the safetensors layout: an 8-byte little-endian
	// header length, a JSON header, then little-endian tensor data.
	path := filepath.Join(t.TempDir(), "w.safetensors")
	tensors := []NamedTensor{
		{Name: "w", DType: "F32", Shape: []int{2}, Data: []float32{1, -2}},
		{Name: "n", DType: "I64", Shape: []int{1}, Data: []int64{258}},
	}
	if err := SaveCheckpoint(path, tensors, nil); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(raw)
	if n%8 != 0 || 8+n > uint64(len(raw)) {
		t.Fatalf("bad header length %d for file of %d bytes", n, len(raw))
	}
	header := string(raw[8 : 8+n])
	if strings.Index(header, `"w"`) > strings.Index(header, `"n"`) {
		t.Errorf("tensor order not kept in header %s", header)
	}
	data := raw[8+n:]
	want := []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 2, 1, 0, 0, 0, 0, 0, 0}
	if !bytes.Equal(data, want) {
		t.Errorf("data bytes % x, want % x", data, want)
	}
}

func TestLoadCheckpointHandWritten(t *testing.T) {
	// A file written by hand from the format description, not by the library.
	header := `{"__metadata__":{"source":"hand"},"b":{"dtype":"F64","shape":[],"data_offsets":[0,8]},` +
		`"a":{"dtype":"I32","shape":[1,2],"data_offsets":[8,16]}}`
	var buf bytes.Buffer
	_ = binary.Write(&buf, binary.LittleEndian, uint64(len(header)))
	buf.WriteString(header)
	_ = binary.Write(&buf, binary.LittleEndian, 0.5)
	_ = binary.Write(&buf, binary.LittleEndian, []int32{-3, 4})
	path := filepath.Join(t.TempDir(), "hand.safetensors")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, meta, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	assertTensorsEqual(t, got, []NamedTensor{
		{Name: "b", DType: "F64", Shape: []int{}, Data: []float64{0.5}},
		{Name: "a", DType: "I32", Shape: []int{1, 2}, Data: []int32{-3, 4}},
	})
	if meta["source"] != "hand" {
		t.Errorf("metadata %v", meta)
	}
}

func TestSaveCheckpointRejectsBadInput(t *testing.T) {
	ok := NamedTensor{Name: "ok", DType: "F32", Shape: []int{1}, Data: []float32{1}}
	tests := []struct {
		name    string
		tensors []NamedTensor
		want    string
	}{
		{"no tensors", nil, "no tensors"},
		{"empty name", []NamedTensor{{DType: "F32", Shape: []int{1}, Data: []float32{1}}}, "no name"},
		{"reserved name", []NamedTensor{{Name: "__metadata__", DType: "F32", Shape: []int{1}, Data: []float32{1}}}, "reserved"},
		{"duplicate", []NamedTensor{ok, ok}, "duplicate"},
		{"bad dtype", []NamedTensor{{Name: "x", DType: "F16", Shape: []int{1}, Data: []float32{1}}}, "unsupported dtype"},
		{"type mismatch", []NamedTensor{{Name: "x", DType: "F64", Shape: []int{1}, Data: []float32{1}}}, "needs Data of type []float64"},
		{"untyped nil", []NamedTensor{{Name: "x", DType: "I32", Shape: []int{0}, Data: nil}}, "needs Data"},
		{"shape mismatch", []NamedTensor{{Name: "x", DType: "I64", Shape: []int{2, 2}, Data: []int64{1, 2, 3}}}, "4 elements but Data has 3"},
		{"negative dim", []NamedTensor{{Name: "x", DType: "U64", Shape: []int{-1}, Data: []uint64{}}}, "negative"},
		{"overflow", []NamedTensor{{Name: "x", DType: "U64", Shape: []int{math.MaxInt, 3}, Data: []uint64{}}}, "overflows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "c.safetensors")
			err := SaveCheckpoint(path, tt.tensors, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v, want one containing %q and the path", err, tt.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("files left behind: %v", entries)
			}
		})
	}
}

func TestLoadCheckpointRejectsCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.safetensors")
	if err := SaveCheckpoint(good, sampleTensors(), map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	headerLen := int(binary.LittleEndian.Uint64(raw))

	hugeHeader := append([]byte(nil), raw...)
	binary.LittleEndian.PutUint64(hugeHeader, math.MaxUint64)
	flipped := append([]byte(nil), raw...)
	copy(flipped[8:], "[")
	badDType := bytes.Replace(raw, []byte(`"I32"`), []byte(`"U32"`), 1)
	dupName := bytes.Replace(raw, []byte(`"rng"`), []byte(`"emp"`), 1)
	dupName = bytes.Replace(dupName, []byte(`"empty"`), []byte(`"emp"  `), 1)

	tests := []struct {
		name string
		data []byte
	}{
		{"empty file", nil},
		{"shorter than length prefix", raw[:5]},
		{"truncated in header", raw[:8+headerLen/2]},
		{"truncated at data start", raw[:8+headerLen]},
		{"truncated one byte", raw[:len(raw)-1]},
		{"trailing garbage", append(append([]byte(nil), raw...), 0)},
		{"huge header length", hugeHeader},
		{"broken json", flipped},
		{"unsupported dtype", badDType},
		{"duplicate names", dupName},
		{"garbage", []byte("this is not a safetensors file, just some text........")},
		{"zero header", make([]byte, 64)},
		{"no tensors", append(binary.LittleEndian.AppendUint64(nil, 2), "{}"...)},
		{"json array header", append(binary.LittleEndian.AppendUint64(nil, 2), "[]"...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			if err := os.WriteFile(path, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			tensors, meta, err := LoadCheckpoint(path)
			if err == nil {
				t.Fatalf("no error; got %d tensors, metadata %v", len(tensors), meta)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			t.Log(err)
		})
	}
}

func TestLoadCheckpointMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.safetensors")
	if _, _, err := LoadCheckpoint(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v, want one naming %s", err, path)
	}
}

// saveVersion writes a one-tensor checkpoint whose value identifies it.
func saveVersion(t *testing.T, path string, version float32) {
	t.Helper()
	tensors := []NamedTensor{{Name: "v", DType: "F32", Shape: []int{1}, Data: []float32{version}}}
	if err := SaveCheckpoint(path, tensors, map[string]string{"version": "x"}); err != nil {
		t.Fatal(err)
	}
}

// assertVersion checks that path holds the checkpoint saved by saveVersion
// and that no temporary files are left unless allowed.
func assertVersion(t *testing.T, path string, version float32) {
	t.Helper()
	got, _, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatalf("previous checkpoint unreadable: %v", err)
	}
	if v := got[0].Data.([]float32)[0]; v != version {
		t.Fatalf("checkpoint holds version %v, want %v", v, version)
	}
}

func TestSaveCheckpointFailedWriteKeepsPrevious(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	saveVersion(t, path, 1)

	// A write that fails half way through, after a large part of the new
	// content has reached the temporary file.
	err := writeFileAtomic(path, func(w io.Writer) error {
		if _, err := w.Write(make([]byte, 1<<20)); err != nil {
			return err
		}
		return io.ErrUnexpectedEOF
	})
	if err == nil {
		t.Fatal("failing write reported success")
	}
	assertVersion(t, path, 1)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}

	saveVersion(t, path, 2)
	assertVersion(t, path, 2)
}

func TestSaveCheckpointReadOnlyDirKeepsPrevious(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	saveVersion(t, path, 1)
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
	tensors := []NamedTensor{{Name: "v", DType: "F32", Shape: []int{1}, Data: []float32{2}}}
	if err := SaveCheckpoint(path, tensors, nil); err == nil {
		t.Fatal("save into read-only directory reported success")
	}
	assertVersion(t, path, 1)
}

const killHelperEnv = "FOVEA_TEST_KILLED_CHECKPOINT_WRITE"

// TestSaveCheckpointKilledWriteKeepsPrevious kills (SIGKILL) a child process
// in the middle of writing a checkpoint and checks that the previous
// checkpoint survives and that saving works again afterwards.
func TestSaveCheckpointKilledWriteKeepsPrevious(t *testing.T) {
	if path := os.Getenv(killHelperEnv); path != "" {
		// Child: write half a checkpoint, report, then hang until killed.
		err := writeFileAtomic(path, func(w io.Writer) error {
			if _, err := w.Write(bytes.Repeat([]byte{0xAB}, 1<<20)); err != nil {
				return err
			}
			os.Stdout.WriteString("half written\n")
			select {}
		})
		os.Stdout.WriteString("unexpected return: " + errString(err) + "\n")
		os.Exit(3)
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	saveVersion(t, path, 1)

	cmd := exec.Command(os.Args[0], "-test.run=^TestSaveCheckpointKilledWriteKeepsPrevious$")
	cmd.Env = append(os.Environ(), killHelperEnv+"="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "half written\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child said %q, %v", line, err)
	}
	// The half-written temporary file is on disk while the child hangs.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("expected the checkpoint and one temporary file, got %v", entries)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	assertVersion(t, path, 1)
	saveVersion(t, path, 2)
	assertVersion(t, path, 2)
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func FuzzLoadCheckpoint(f *testing.F) {
	dir := f.TempDir()
	good := filepath.Join(dir, "seed.safetensors")
	if err := SaveCheckpoint(good, sampleTensors(), map[string]string{"m": "v"}); err != nil {
		f.Fatal(err)
	}
	raw, err := os.ReadFile(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add(raw[:len(raw)/2])
	f.Add([]byte{})
	f.Add([]byte("garbage garbage garbage"))
	f.Add(append(binary.LittleEndian.AppendUint64(nil, 2), "{}"...))
	zeroSized := `{"x":{"dtype":"U64","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}}`
	f.Add(append(binary.LittleEndian.AppendUint64(nil, uint64(len(zeroSized))), zeroSized...))

	// Each fuzz worker process runs this function once and then calls the
	// target sequentially, so one file per worker is enough.
	path := filepath.Join(f.TempDir(), "fuzz.safetensors")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		tensors, meta, err := LoadCheckpoint(path)
		if err != nil {
			return
		}
		// Whatever loads must encode and decode back to the same thing
		// (in memory: SaveCheckpoint's fsync would slow fuzzing down).
		file, err := toSafetensors(tensors, meta)
		if err != nil {
			t.Fatalf("loaded checkpoint does not encode: %v", err)
		}
		var buf bytes.Buffer
		if err := file.Serialize(&buf); err != nil {
			t.Fatalf("loaded checkpoint does not serialize: %v", err)
		}
		tensors2, meta2, err := decodeCheckpoint(buf.Bytes())
		if err != nil {
			t.Fatalf("re-encoded checkpoint does not decode: %v", err)
		}
		assertTensorsEqual(t, tensors2, tensors)
		if !reflect.DeepEqual(meta, meta2) {
			t.Fatalf("metadata %v became %v", meta, meta2)
		}
	})
}
