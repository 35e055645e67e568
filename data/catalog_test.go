package data

import (
	"errors"
	"testing"
)

func TestCatalogValid(t *testing.T) {
	for _, s := range Catalog() {
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
		if len(s.ClassNames) != 10 {
			t.Errorf("%s: %d class names", s.Name, len(s.ClassNames))
		}
		for _, r := range []Role{RoleTrainImages, RoleTrainLabels, RoleTestImages, RoleTestLabels} {
			if _, err := s.file(r); err != nil {
				t.Errorf("%s: %v", s.Name, err)
			}
		}
	}
}

func TestCatalogValues(t *testing.T) {
	cases := []struct {
		spec       Spec
		file, md5  string
		size       int64
		urlPrefix  string
		class9     string
		folderName string
	}{
		{FashionMNISTSpec(), "train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", 26421880, "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", "Ankle boot", "fashion-mnist"},
		{FashionMNISTSpec(), "train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe", 29515, "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", "Ankle boot", "fashion-mnist"},
		{FashionMNISTSpec(), "t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79", 4422102, "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", "Ankle boot", "fashion-mnist"},
		{FashionMNISTSpec(), "t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310", 5148, "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", "Ankle boot", "fashion-mnist"},
		{MNISTSpec(), "train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", 9912422, "https://ossci-datasets.s3.amazonaws.com/mnist/", "9", "mnist"},
		{MNISTSpec(), "train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", 28881, "https://ossci-datasets.s3.amazonaws.com/mnist/", "9", "mnist"},
		{MNISTSpec(), "t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", 1648877, "https://ossci-datasets.s3.amazonaws.com/mnist/", "9", "mnist"},
		{MNISTSpec(), "t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", 4542, "https://ossci-datasets.s3.amazonaws.com/mnist/", "9", "mnist"},
	}
	for _, tc := range cases {
		var f *File
		for i := range tc.spec.Files {
			if tc.spec.Files[i].Name == tc.file {
				f = &tc.spec.Files[i]
			}
		}
		if f == nil {
			t.Errorf("%s: no file %s", tc.spec.Name, tc.file)
			continue
		}
		if f.MD5 != tc.md5 || f.Size != tc.size || f.URL != tc.urlPrefix+tc.file {
			t.Errorf("%s %s: %+v", tc.spec.Name, tc.file, *f)
		}
		if tc.spec.ClassNames[9] != tc.class9 || tc.spec.Folder != tc.folderName {
			t.Errorf("%s: class 9 %q, folder %q", tc.spec.Name, tc.spec.ClassNames[9], tc.spec.Folder)
		}
	}
}

func TestCatalogIsACopy(t *testing.T) {
	s := FashionMNISTSpec()
	s.Files[0].MD5 = "changed"
	s.ClassNames[0] = "changed"
	if f := FashionMNISTSpec(); f.Files[0].MD5 == "changed" || f.ClassNames[0] == "changed" {
		t.Error("mutating a returned spec changed the catalog")
	}
}

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		name string
		want error
	}{{"mnist", nil}, {"fashion-mnist", nil}, {"cifar", ErrNotFound}, {"", ErrNotFound}} {
		s, err := Lookup(tc.name)
		if !errors.Is(err, tc.want) || (err == nil && s.Name != tc.name) {
			t.Errorf("Lookup(%q) = %q, %v", tc.name, s.Name, err)
		}
	}
}
