package data

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
)

// Role says what a dataset file holds.
type Role int

// File roles. IDX datasets (MNIST, Fashion-MNIST) have exactly one file of each
// of the four IDX roles.
const (
	RoleOther Role = iota
	RoleTrainImages
	RoleTrainLabels
	RoleTestImages
	RoleTestLabels
)

func (r Role) String() string {
	switch r {
	case RoleTrainImages:
		return "train images"
	case RoleTrainLabels:
		return "train labels"
	case RoleTestImages:
		return "test images"
	case RoleTestLabels:
		return "test labels"
	default:
		return "other"
	}
}

// File describes one downloadable file of a dataset. At least one of MD5 and
// SHA256 must be set; every hash that is set is verified.
type File struct {
	Name   string // file name inside the dataset folder (no directories)
	URL    string // official download location
	MD5    string // lower-case hex, optional if SHA256 is set
	SHA256 string // lower-case hex, optional if MD5 is set
	Size   int64  // bytes; 0 when unknown
	Role   Role
}

// Spec describes a dataset: where it lives under the data root and which
// files make it up.
type Spec struct {
	Name       string   // short name used by Lookup, e.g. "fashion-mnist"
	Folder     string   // folder under the data root, relative, e.g. "fashion-mnist"
	Files      []File   // every file Ensure must provide
	ClassNames []string // label i is ClassNames[i]
}

// catalog is the table of known datasets. It is built afresh on each call so
// that callers can never mutate shared state.
func catalog() []Spec {
	const fashionURL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
	const mnistURL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
	return []Spec{
		{
			Name:   "fashion-mnist",
			Folder: "fashion-mnist",
			Files: []File{
				{Name: "train-images-idx3-ubyte.gz", URL: fashionURL + "train-images-idx3-ubyte.gz", MD5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d", Size: 26421880, Role: RoleTrainImages},
				{Name: "train-labels-idx1-ubyte.gz", URL: fashionURL + "train-labels-idx1-ubyte.gz", MD5: "25c81989df183df01b3e8a0aad5dffbe", Size: 29515, Role: RoleTrainLabels},
				{Name: "t10k-images-idx3-ubyte.gz", URL: fashionURL + "t10k-images-idx3-ubyte.gz", MD5: "bef4ecab320f06d8554ea6380940ec79", Size: 4422102, Role: RoleTestImages},
				{Name: "t10k-labels-idx1-ubyte.gz", URL: fashionURL + "t10k-labels-idx1-ubyte.gz", MD5: "bb300cfdad3c16e7a12a480ee83cd310", Size: 5148, Role: RoleTestLabels},
			},
			ClassNames: []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"},
		},
		{
			Name:   "mnist",
			Folder: "mnist",
			Files: []File{
				{Name: "train-images-idx3-ubyte.gz", URL: mnistURL + "train-images-idx3-ubyte.gz", MD5: "f68b3c2dcbeaaa9fbdd348bbdeb94873", Size: 9912422, Role: RoleTrainImages},
				{Name: "train-labels-idx1-ubyte.gz", URL: mnistURL + "train-labels-idx1-ubyte.gz", MD5: "d53e105ee54ea40749a09fcbcd1e9432", Size: 28881, Role: RoleTrainLabels},
				{Name: "t10k-images-idx3-ubyte.gz", URL: mnistURL + "t10k-images-idx3-ubyte.gz", MD5: "9fb629c4189551a2d022fa330f9573f3", Size: 1648877, Role: RoleTestImages},
				{Name: "t10k-labels-idx1-ubyte.gz", URL: mnistURL + "t10k-labels-idx1-ubyte.gz", MD5: "ec29112dd5afa0611ce80d1b7f02629c", Size: 4542, Role: RoleTestLabels},
			},
			ClassNames: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
		},
	}
}

// Catalog returns the table of known datasets. The result is a fresh copy.
func Catalog() []Spec { return catalog() }

// Lookup returns the dataset called name (see Catalog), or an error wrapping
// ErrNotFound.
func Lookup(name string) (Spec, error) {
	var names []string
	for _, s := range catalog() {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return Spec{}, fmt.Errorf("data: dataset %q: %w (known: %s)", name, ErrNotFound, strings.Join(names, ", "))
}

// FashionMNISTSpec describes Fashion-MNIST (Zalando), 28×28 grayscale, 10 classes.
func FashionMNISTSpec() Spec { return mustLookup("fashion-mnist") }

// MNISTSpec describes MNIST handwritten digits, 28×28 grayscale, 10 classes.
func MNISTSpec() Spec { return mustLookup("mnist") }

func mustLookup(name string) Spec {
	s, err := Lookup(name)
	if err != nil {
		panic(err) // only reachable if the built-in table itself is broken
	}
	return s
}

// file returns the file of spec s with role r.
func (s Spec) file(r Role) (File, error) {
	for _, f := range s.Files {
		if f.Role == r {
			return f, nil
		}
	}
	return File{}, fmt.Errorf("data: dataset %q has no %s file: %w", s.Name, r, ErrArgument)
}

// Validate checks that the spec is usable: a relative folder that stays under
// the root, plain file names, well-formed hashes.
func (s Spec) Validate() error {
	if s.Folder == "" || !filepath.IsLocal(s.Folder) {
		return fmt.Errorf("data: dataset %q: folder %q must be a non-empty relative path inside the data root: %w", s.Name, s.Folder, ErrArgument)
	}
	if len(s.Files) == 0 {
		return fmt.Errorf("data: dataset %q has no files: %w", s.Name, ErrArgument)
	}
	seen := make(map[string]bool, len(s.Files))
	for _, f := range s.Files {
		if f.Name == "" || f.Name != filepath.Base(f.Name) || f.Name == "." || f.Name == ".." || strings.ContainsAny(f.Name, `/\`) {
			return fmt.Errorf("data: dataset %q: file name %q must be a plain file name: %w", s.Name, f.Name, ErrArgument)
		}
		if seen[f.Name] {
			return fmt.Errorf("data: dataset %q: file %q listed twice: %w", s.Name, f.Name, ErrArgument)
		}
		seen[f.Name] = true
		if f.MD5 == "" && f.SHA256 == "" {
			return fmt.Errorf("data: dataset %q: file %q has no MD5 or SHA256: %w", s.Name, f.Name, ErrArgument)
		}
		if err := checkHex(f.MD5, 16); err != nil {
			return fmt.Errorf("data: dataset %q: file %q: MD5 %q: %v: %w", s.Name, f.Name, f.MD5, err, ErrArgument)
		}
		if err := checkHex(f.SHA256, 32); err != nil {
			return fmt.Errorf("data: dataset %q: file %q: SHA256 %q: %v: %w", s.Name, f.Name, f.SHA256, err, ErrArgument)
		}
		if f.Size < 0 {
			return fmt.Errorf("data: dataset %q: file %q: negative size %d: %w", s.Name, f.Name, f.Size, ErrArgument)
		}
	}
	return nil
}

// checkHex accepts "" or a lower-case hex string encoding n bytes.
func checkHex(s string, n int) error {
	if s == "" {
		return nil
	}
	if s != strings.ToLower(s) {
		return fmt.Errorf("not lower-case")
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	if len(b) != n {
		return fmt.Errorf("want %d hex digits, got %d", 2*n, len(s))
	}
	return nil
}
