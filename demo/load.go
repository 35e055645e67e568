package demo

import (
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // registers the JPEG decoder
	_ "image/png"  // registers the PNG decoder
	"os"
	"path/filepath"
	"slices"
	"strings"

	"fovea/data"
)

// ErrUnsupported reports a file that is not a JPEG or PNG image.
var ErrUnsupported = errors.New("unsupported image format (want JPEG or PNG)")

// ErrNoPhoto reports that no default photo was found under the data root.
var ErrNoPhoto = errors.New("no photo found")

// LoadImage decodes the JPEG or PNG file at path. Errors name the file and say what is wrong with it:
// missing or unreadable, another format, or a corrupt image.
func LoadImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	defer f.Close()
	img, format, err := image.Decode(f)
	if errors.Is(err, image.ErrFormat) {
		return nil, fmt.Errorf("image %s: %w", path, ErrUnsupported)
	}
	if err != nil {
		return nil, fmt.Errorf("image %s: not a readable JPEG or PNG: %w", path, err)
	}
	if format != "jpeg" && format != "png" {
		return nil, fmt.Errorf("image %s is %s: %w", path, strings.ToUpper(format), ErrUnsupported)
	}
	if b := img.Bounds(); b.Empty() {
		return nil, fmt.Errorf("image %s has no pixels (%d×%d)", path, b.Dx(), b.Dy())
	}
	return img, nil
}

// FlowersDir is the folder of the tf_flowers photos under a data root: flower_photos/<class>/*.jpg.
const FlowersDir = "flower_photos"

// FlowerPhoto returns the first tf_flowers photo under root (the first class folder in name order, and
// its first .jpg in name order), so that the demos have a default input. It returns an error wrapping
// ErrNoPhoto when root holds none.
func FlowerPhoto(root string) (string, error) {
	dir := filepath.Join(root, FlowersDir)
	classes, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("%w: no tf_flowers folder %s (%v)", ErrNoPhoto, dir, err)
	}
	for _, c := range classes {
		if !c.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, c.Name()))
		if err != nil {
			continue
		}
		names := make([]string, 0, len(files))
		for _, f := range files {
			if !f.IsDir() && strings.EqualFold(filepath.Ext(f.Name()), ".jpg") {
				names = append(names, f.Name())
			}
		}
		if len(names) > 0 {
			slices.Sort(names)
			return filepath.Join(dir, c.Name(), names[0]), nil
		}
	}
	return "", fmt.Errorf("%w: %s holds no <class>/*.jpg", ErrNoPhoto, dir)
}

// ResolvePhoto picks a demo's input: path when it is given, else the first tf_flowers photo under the
// data root (dataFlag, else $FOVEA_DATA, else the user cache; see data.ResolveRoot). Without either it
// says exactly what to pass.
func ResolvePhoto(path, dataFlag string) (string, error) {
	if path != "" {
		return path, nil
	}
	root, err := data.ResolveRoot(dataFlag)
	if err != nil {
		return "", fmt.Errorf("no -image given and %w; pass -image PHOTO.jpg (a JPEG or PNG file)", err)
	}
	photo, err := FlowerPhoto(root)
	if err != nil {
		return "", fmt.Errorf("no -image given and %w; pass -image PHOTO.jpg (a JPEG or PNG file), or -data DIR "+
			"(or $%s) naming a data root that holds %s/<class>/*.jpg", err, data.EnvRoot, FlowersDir)
	}
	return photo, nil
}
