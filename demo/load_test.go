package demo

import (
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fovea/data"
)

// writeImage encodes a small gradient image with enc into dir/name and returns its path.
func writeImage(t *testing.T, dir, name string, enc func(*os.File, image.Image) error) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 6, 4))
	for y := range 4 {
		for x := range 6 {
			img.Set(x, y, color.RGBA{uint8(40 * x), uint8(60 * y), 128, 255})
		}
	}
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := enc(f, img); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadImage(t *testing.T) {
	dir := t.TempDir()
	pngPath := writeImage(t, dir, "a.png", func(f *os.File, m image.Image) error { return png.Encode(f, m) })
	jpgPath := writeImage(t, dir, "b.jpg", func(f *os.File, m image.Image) error { return jpeg.Encode(f, m, nil) })
	gifPath := writeImage(t, dir, "c.gif", func(f *os.File, m image.Image) error { return gif.Encode(f, m, nil) })
	textPath := filepath.Join(dir, "notes.jpg")
	if err := os.WriteFile(textPath, []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(jpgPath)
	if err != nil {
		t.Fatal(err)
	}
	truncPath := filepath.Join(dir, "truncated.jpg")
	if err := os.WriteFile(truncPath, raw[:len(raw)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		path    string
		wantErr string // "" for success
		is      error
	}{
		{name: "png", path: pngPath},
		{name: "jpeg", path: jpgPath},
		{name: "gif is refused", path: gifPath, wantErr: "is GIF", is: ErrUnsupported},
		{name: "text file", path: textPath, wantErr: "notes.jpg", is: ErrUnsupported},
		{name: "truncated jpeg", path: truncPath, wantErr: "truncated.jpg: not a readable JPEG or PNG"},
		{name: "missing file", path: filepath.Join(dir, "missing.png"), wantErr: "missing.png", is: os.ErrNotExist},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img, err := LoadImage(tc.path)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if b := img.Bounds(); b.Dx() != 6 || b.Dy() != 4 {
					t.Fatalf("size %v, want 6×4", b)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("error %v does not wrap %v", err, tc.is)
			}
		})
	}
}

func TestFlowerPhoto(t *testing.T) {
	root := t.TempDir()
	if _, err := FlowerPhoto(root); !errors.Is(err, ErrNoPhoto) {
		t.Fatalf("empty root: error %v, want ErrNoPhoto", err)
	}
	for _, d := range []string{"daisy", "roses"} {
		if err := os.MkdirAll(filepath.Join(root, FlowersDir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := FlowerPhoto(root); !errors.Is(err, ErrNoPhoto) {
		t.Fatalf("class folders without photos: error %v, want ErrNoPhoto", err)
	}
	for _, f := range []string{"roses/b.jpg", "roses/a.jpg", "daisy/readme.txt"} {
		if err := os.WriteFile(filepath.Join(root, FlowersDir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := FlowerPhoto(root)
	if err != nil {
		t.Fatal(err)
	}
	// daisy/ comes first but holds no .jpg; roses/a.jpg is the first photo by name.
	first := filepath.Join(root, FlowersDir, "roses", "a.jpg")
	if got != first {
		t.Fatalf("got %s, want %s", got, first)
	}
	if p, err := ResolvePhoto("given.png", root); err != nil || p != "given.png" {
		t.Fatalf("ResolvePhoto with a path = %q, %v", p, err)
	}
	if p, err := ResolvePhoto("", root); err != nil || p != first {
		t.Fatalf("ResolvePhoto from the data root = %q, %v", p, err)
	}
	_, err = ResolvePhoto("", t.TempDir())
	if !errors.Is(err, ErrNoPhoto) || !strings.Contains(err.Error(), "-image") {
		t.Fatalf("ResolvePhoto without photos: error %v should wrap ErrNoPhoto and say to pass -image", err)
	}
}

// TestRealFlowerPhoto loads the default photo from the shared data, when it is there.
func TestRealFlowerPhoto(t *testing.T) {
	root := os.Getenv(data.EnvRoot)
	if root == "" {
		t.Skipf("$%s is not set; set it to the shared data root to load a real tf_flowers photo", data.EnvRoot)
	}
	path, err := FlowerPhoto(root)
	if errors.Is(err, ErrNoPhoto) {
		t.Skipf("no tf_flowers photos under %s: %v", root, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	img, err := LoadImage(path)
	if err != nil {
		t.Fatal(err)
	}
	panels, err := ConvFigure(img, Filters()[0], 64)
	if err != nil {
		t.Fatal(err)
	}
	if len(panels) != 2 {
		t.Fatalf("%d panels, want 2", len(panels))
	}
}
