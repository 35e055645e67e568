package data

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// synthSpec writes a small IDX dataset under root/synth and returns its spec.
func synthSpec(t *testing.T, root string, nTrain, nTest int) Spec {
	t.Helper()
	dir := filepath.Join(root, "synth")
	if err := mkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	files := []struct {
		name    string
		role    Role
		content []byte
	}{
		{"train-images-idx3-ubyte.gz", RoleTrainImages, imagesGz(t, nTrain, 4, 5)},
		{"train-labels-idx1-ubyte.gz", RoleTrainLabels, labelsGz(t, nTrain, 3)},
		{"t10k-images-idx3-ubyte.gz", RoleTestImages, imagesGz(t, nTest, 4, 5)},
		{"t10k-labels-idx1-ubyte.gz", RoleTestLabels, labelsGz(t, nTest, 3)},
	}
	s := Spec{Name: "synth", Folder: "synth", ClassNames: []string{"x", "y", "z"}}
	for _, f := range files {
		writeFile(t, dir, f.name, f.content)
		s.Files = append(s.Files, File{Name: f.name, URL: "http://invalid/" + f.name, MD5: md5Hex(f.content), Size: int64(len(f.content)), Role: f.role})
	}
	return s
}

func TestLoadSynthetic(t *testing.T) {
	root := t.TempDir()
	spec := synthSpec(t, root, 12, 7)
	train, test, err := Load(root, spec)
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 12 || test.N != 7 || train.H != 4 || train.W != 5 || train.C != 1 || train.Classes != 3 || train.ClassNames[2] != "z" {
		t.Fatalf("train %+v / test N=%d", *train.Subset(1), test.N)
	}

	cases := []struct {
		name    string
		edit    func(s *Spec)
		want    error
		message []string
	}{
		{"wrong md5", func(s *Spec) { s.Files[2].MD5 = strings.Repeat("a", 32) }, ErrChecksum, []string{"t10k-images-idx3-ubyte.gz", "expected " + strings.Repeat("a", 32), "md5 "}},
		{"missing file", func(s *Spec) { s.Files[1].Name = "absent.gz" }, ErrNotFound, []string{"absent.gz", "Ensure"}},
		{"no test labels role", func(s *Spec) { s.Files[3].Role = RoleOther }, ErrArgument, []string{"test labels"}},
		{"too few class names", func(s *Spec) { s.ClassNames = s.ClassNames[:2] }, ErrFormat, []string{"label 2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := synthSpec(t, root, 12, 7)
			tc.edit(&s)
			_, _, err := Load(root, s)
			checkErr(t, err, tc.want, tc.message)
		})
	}
}

func TestLoadFashionMNISTMissing(t *testing.T) {
	_, _, err := LoadFashionMNIST(t.TempDir())
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound", err)
	}
	_, _, err = LoadMNIST(t.TempDir())
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound", err)
	}
}
