package data

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// tf_flowers: 3670 Flickr photos of flowers in five classes (daisy 633, dandelion 898, roses 641,
// sunflowers 699, tulips 799), CC-BY 2.0 (flower_photos/LICENSE.txt credits every photographer), the
// dataset of Géron's transfer-learning example. Decoded into memory at the sizes of the project's shared
// copy (shorter side capped at 256 pixels, longer side up to 1024) the 3670 photos take 862,299,840 bytes
// (822 MiB); the official archive's photos are larger, and LoadOptions.ShorterSide: 256 brings them to
// the same bound.

// FlowersFolder is the folder of the tf_flowers photos under the data root, as flower_photos.tgz
// extracts: <root>/flower_photos/<class>/<photo>.jpg, plus LICENSE.txt.
const FlowersFolder = "flower_photos"

// FlowersClassNames are the five tf_flowers classes in label order (sorted folder names, as TFDS and
// Keras number them).
func FlowersClassNames() []string {
	return []string{"daisy", "dandelion", "roses", "sunflowers", "tulips"}
}

// FlowersSpec describes the official tf_flowers archive, flower_photos.tgz (228,813,984 bytes), kept in
// the data root itself next to the folder it extracts to. Its SHA-256 is the one TensorFlow Datasets
// records in its checksum list for this URL.
func FlowersSpec() Spec {
	return Spec{
		Name:   "tf_flowers",
		Folder: ".",
		Files: []File{{
			Name:   "flower_photos.tgz",
			URL:    "https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz",
			SHA256: "4c54ace7911aaffe13a365c34f650e71dd5bf1be0a58b464e5a7183e3e595d9c",
			Size:   228813984,
			Role:   RoleOther,
		}},
		ClassNames: FlowersClassNames(),
	}
}

// EnsureFlowers makes sure the tf_flowers photos are under root/flower_photos and returns that folder.
// A folder already there with the five class subfolders is used as it is (it came from an atomic
// extraction, or is a copy such as the shared one); otherwise, unless opts.Offline, flower_photos.tgz is
// downloaded and verified as Ensure does, then extracted with ExtractTarGz. The archive stays in root
// (delete it to save 218 MiB; it is not needed once extracted). A flower_photos folder that lacks a
// class is an ErrFormat error: delete it to extract again.
func EnsureFlowers(ctx context.Context, root string, opts FetchOptions) (string, error) {
	return ensureExtracted(ctx, root, FlowersSpec(), FlowersFolder, opts, ExtractLimits{})
}

// ensureExtracted is EnsureFlowers for any single-archive spec whose archive extracts to root/top with
// one subfolder per spec.ClassNames entry.
func ensureExtracted(ctx context.Context, root string, spec Spec, top string, opts FetchOptions, lim ExtractLimits) (string, error) {
	if root == "" {
		return "", fmt.Errorf("data: ensure %q: empty data root: %w", spec.Name, ErrArgument)
	}
	if len(spec.Files) != 1 {
		return "", fmt.Errorf("data: ensure %q: %d files, expected one archive: %w", spec.Name, len(spec.Files), ErrArgument)
	}
	dir := filepath.Join(root, top)
	present, err := hasClassFolders(dir, spec.ClassNames)
	if err != nil || present {
		return dir, err
	}
	if opts.Offline {
		return "", fmt.Errorf("data: %s: %w (downloads are off; run without -offline to fetch %s)", dir, ErrNotFound, spec.Files[0].URL)
	}
	if err := Ensure(ctx, root, spec, opts); err != nil {
		return "", err
	}
	archive := filepath.Join(root, spec.Folder, spec.Files[0].Name)
	if opts.Logf != nil {
		opts.Logf("data: extracting %s to %s", archive, dir)
	}
	if err := ExtractTarGz(ctx, archive, root, top, lim); err != nil {
		return "", err
	}
	if _, err := hasClassFolders(dir, spec.ClassNames); err != nil {
		// The folder is the extraction just made, of an archive that passed its checksum but does not
		// have the expected layout: remove it rather than leave a dataset that looks installed.
		if rmErr := os.RemoveAll(dir); rmErr != nil {
			return "", fmt.Errorf("%w (and removing it failed: %v)", err, rmErr)
		}
		return "", err
	}
	return dir, nil
}

// hasClassFolders reports whether dir exists; if it does, every class must be a subfolder of it.
func hasClassFolders(dir string, classes []string) (bool, error) {
	info, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("data: %s: %w", dir, err)
	}
	if !info.IsDir() {
		return false, fmt.Errorf("data: %s is not a folder: %w", dir, ErrFormat)
	}
	for _, c := range classes {
		if info, err := os.Stat(filepath.Join(dir, c)); err != nil || !info.IsDir() {
			return false, fmt.Errorf("data: %s has no class folder %q (delete it to download and extract again): %w", dir, c, ErrFormat)
		}
	}
	return true, nil
}

// ScanFlowers lists root/flower_photos (see ScanImageFolder) and checks that its classes are exactly
// FlowersClassNames. It never downloads (see EnsureFlowers).
func ScanFlowers(root string) (*ImageFolder, error) {
	f, err := ScanImageFolder(filepath.Join(root, FlowersFolder))
	if err != nil {
		return nil, fmt.Errorf("%w (run EnsureFlowers to download tf_flowers)", err)
	}
	if want := FlowersClassNames(); !slices.Equal(f.ClassNames, want) {
		return nil, fmt.Errorf("data: %s: classes %v, expected %v: %w", f.Dir, f.ClassNames, want, ErrFormat)
	}
	return f, nil
}

// LoadFlowers decodes all tf_flowers photos under root/flower_photos (ScanFlowers, then Load). Decoding
// costs about 2 ms of CPU per photo with Go's image/jpeg, so the 3670 photos take about 4 s on two idle
// cores.
func LoadFlowers(root string, opts LoadOptions) (*Images, error) {
	f, err := ScanFlowers(root)
	if err != nil {
		return nil, err
	}
	return f.Load(opts)
}
