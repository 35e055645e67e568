package data

import (
	"fmt"
	"path/filepath"
)

// Load verifies the files of an IDX dataset under root/<ds.Folder> against
// their sizes and hashes, then reads the train and test sets. It never
// downloads (see Ensure); a missing file is an ErrNotFound error.
func Load(root string, ds Spec) (train, test *Dataset, err error) {
	if err := Verify(root, ds); err != nil {
		return nil, nil, fmt.Errorf("%w (run Ensure to download %s)", err, ds.Name)
	}
	dir := filepath.Join(root, ds.Folder)
	read := func(images, labels Role) (*Dataset, error) {
		fi, err := ds.file(images)
		if err != nil {
			return nil, err
		}
		fl, err := ds.file(labels)
		if err != nil {
			return nil, err
		}
		return ReadIDX(filepath.Join(dir, fi.Name), filepath.Join(dir, fl.Name), ds.ClassNames)
	}
	if train, err = read(RoleTrainImages, RoleTrainLabels); err != nil {
		return nil, nil, err
	}
	if test, err = read(RoleTestImages, RoleTestLabels); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// LoadFashionMNIST loads Fashion-MNIST from root/fashion-mnist (60,000 train
// and 10,000 test 28×28 grayscale images, 10 classes), verifying checksums.
func LoadFashionMNIST(root string) (train, test *Dataset, err error) {
	return Load(root, FashionMNISTSpec())
}

// LoadMNIST loads MNIST from root/mnist, verifying checksums.
func LoadMNIST(root string) (train, test *Dataset, err error) {
	return Load(root, MNISTSpec())
}
