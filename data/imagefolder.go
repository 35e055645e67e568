package data

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // registers the JPEG decoder with image.Decode
	_ "image/png"  // registers the PNG decoder with image.Decode
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// MaxPhotoPixels is the largest image (width·height) LoadImageFolder decodes; a file whose header
// announces more is an ErrFormat error, so a corrupt or hostile header cannot make the decoder allocate
// gigabytes.
const MaxPhotoPixels = 1 << 26

// Photo is one decoded image: H rows of W pixels, 3 bytes (R, G, B) per pixel, row-major, so pixel
// (y, x) is Pix[(y·W+x)·3 : (y·W+x)·3+3].
type Photo struct {
	Pix  []uint8
	H, W int
}

// ImageFolder lists the images of a folder of class subfolders without decoding them:
//
//	dir/<class>/<file>.jpg|.jpeg|.png
//
// The classes are the subfolders of dir in sorted (byte) order, as Keras' image_dataset_from_directory
// and torchvision's ImageFolder number them; the files of a class are in sorted order, classes one after
// the other. Names beginning with "." (hidden files, macOS "._" files), files with other extensions (such as
// tf_flowers' LICENSE.txt), files directly in dir and folders nested inside class folders are ignored.
type ImageFolder struct {
	Dir        string   // the folder that was scanned
	Paths      []string // slash-separated paths relative to Dir: "<class>/<file>"
	Labels     []int32  // Labels[i] is the index in ClassNames of the folder of Paths[i]
	ClassNames []string // the sorted class subfolder names
}

// imageExt reports whether name has an extension LoadImageFolder decodes (any case).
func imageExt(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".jpg", ".jpeg", ".png":
		return true
	}
	return false
}

// ScanImageFolder lists dir (see ImageFolder). A missing dir is an ErrNotFound error; a dir without any
// class subfolder holding an image is an ErrFormat error. A class subfolder without images still counts
// as a class.
func ScanImageFolder(dir string) (*ImageFolder, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("data: image folder %s: %w: %w", dir, ErrNotFound, err)
		}
		return nil, fmt.Errorf("data: image folder %s: %w", dir, err)
	}
	f := &ImageFolder{Dir: dir}
	for _, e := range ents { // os.ReadDir sorts by name
		if strings.HasPrefix(e.Name(), ".") || !isDir(dir, e) {
			continue
		}
		label := int32(len(f.ClassNames))
		f.ClassNames = append(f.ClassNames, e.Name())
		files, err := os.ReadDir(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("data: image folder %s: class %q: %w", dir, e.Name(), err)
		}
		for _, fe := range files {
			if strings.HasPrefix(fe.Name(), ".") || !imageExt(fe.Name()) || isDir(filepath.Join(dir, e.Name()), fe) {
				continue
			}
			f.Paths = append(f.Paths, e.Name()+"/"+fe.Name())
			f.Labels = append(f.Labels, label)
		}
	}
	if len(f.Paths) == 0 {
		return nil, fmt.Errorf("data: image folder %s: no JPEG or PNG files in class subfolders (%d classes found): %w", dir, len(f.ClassNames), ErrFormat)
	}
	if len(f.Paths) > math.MaxInt32 {
		return nil, fmt.Errorf("data: image folder %s: %d images is too many: %w", dir, len(f.Paths), ErrArgument)
	}
	return f, nil
}

// isDir reports whether the entry e of dir is a folder, following a symbolic link.
func isDir(dir string, e fs.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	info, err := os.Stat(filepath.Join(dir, e.Name()))
	return err == nil && info.IsDir()
}

// Len is the number of images listed.
func (f *ImageFolder) Len() int { return len(f.Paths) }

// ClassCounts returns the number of images of each class.
func (f *ImageFolder) ClassCounts() []int { return classCounts(f.Labels, len(f.ClassNames)) }

// Subset returns the images idx (in that order) as a new listing sharing ClassNames. Like a slice
// expression it panics on an index outside [0, Len()): that is a programming error.
func (f *ImageFolder) Subset(idx []int) *ImageFolder {
	s := &ImageFolder{Dir: f.Dir, ClassNames: f.ClassNames, Paths: make([]string, len(idx)), Labels: make([]int32, len(idx))}
	for i, j := range idx {
		s.Paths[i], s.Labels[i] = f.Paths[j], f.Labels[j]
	}
	return s
}

// FirstPerClass keeps the first n images (in listing order) of every class: a small, balanced,
// deterministic subset for tests and quick runs. n <= 0 keeps everything.
func (f *ImageFolder) FirstPerClass(n int) *ImageFolder {
	if n <= 0 {
		return f.Subset(indices(f.Len()))
	}
	seen := make([]int, len(f.ClassNames))
	var idx []int
	for i, l := range f.Labels {
		if seen[l] < n {
			seen[l]++
			idx = append(idx, i)
		}
	}
	return f.Subset(idx)
}

// LoadOptions controls decoding. The zero value decodes every image at its stored size with one worker
// per CPU (GOMAXPROCS) and fails on the first undecodable file.
type LoadOptions struct {
	// ShorterSide, when positive, shrinks every photo whose shorter side is longer so that its shorter side
	// is ShorterSide pixels (the longer side is scaled by the same factor and rounded), with the same
	// bilinear resampling as ResizeBilinear, rounded to bytes. Photos already that small are kept as
	// decoded. It bounds the memory of the decoded cache: 256 keeps the photos of Géron's pipeline,
	// which crops and resizes them to 224×224 anyway.
	ShorterSide int
	// SkipBad skips a file that cannot be read or decoded instead of failing: Images.Skipped lists it.
	SkipBad bool
	// Workers is the number of files decoded at once; 0 means GOMAXPROCS.
	Workers int
}

// Images is a labelled set of decoded photos kept in memory as compact RGB bytes (Photo), so that
// epochs never decode again. Photos, Labels and Paths are parallel; ClassNames[l] names label l.
type Images struct {
	Photos     []Photo
	Labels     []int32
	Paths      []string // where each photo came from, relative to the loaded folder ("<class>/<file>")
	ClassNames []string
	// Skipped lists the files (relative paths) left out because they could not be read or decoded; only
	// LoadOptions.SkipBad leaves anything out.
	Skipped []string
}

// Len is the number of photos.
func (m *Images) Len() int { return len(m.Photos) }

// Bytes is the memory held by the decoded pixels: Σ H·W·3.
func (m *Images) Bytes() int64 {
	var n int64
	for _, p := range m.Photos {
		n += int64(len(p.Pix))
	}
	return n
}

// ClassCounts returns the number of photos of each class.
func (m *Images) ClassCounts() []int { return classCounts(m.Labels, len(m.ClassNames)) }

// Subset returns the photos idx (in that order) as a new set sharing pixel storage and ClassNames. Like
// a slice expression it panics on an index outside [0, Len()): that is a programming error.
func (m *Images) Subset(idx []int) *Images {
	s := &Images{
		Photos: make([]Photo, len(idx)), Labels: make([]int32, len(idx)), Paths: make([]string, len(idx)),
		ClassNames: m.ClassNames,
	}
	for i, j := range idx {
		s.Photos[i], s.Labels[i] = m.Photos[j], m.Labels[j]
		if m.Paths != nil {
			s.Paths[i] = m.Paths[j]
		}
	}
	return s
}

// Validate checks that the fields are consistent: parallel slices of equal length, photos whose Pix
// holds exactly H·W·3 bytes, labels in [0, len(ClassNames)).
func (m *Images) Validate() error {
	if m == nil {
		return fmt.Errorf("data: nil image set: %w", ErrArgument)
	}
	if len(m.ClassNames) == 0 {
		return fmt.Errorf("data: image set has no class names: %w", ErrArgument)
	}
	if len(m.Labels) != len(m.Photos) || (m.Paths != nil && len(m.Paths) != len(m.Photos)) {
		return fmt.Errorf("data: image set has %d photos, %d labels and %d paths: %w", len(m.Photos), len(m.Labels), len(m.Paths), ErrArgument)
	}
	if len(m.Photos) > math.MaxInt32 {
		return fmt.Errorf("data: image set of %d photos is too large: %w", len(m.Photos), ErrArgument)
	}
	for i, p := range m.Photos {
		if p.H <= 0 || p.W <= 0 || p.H*p.W > MaxPhotoPixels || len(p.Pix) != p.H*p.W*3 {
			return fmt.Errorf("data: photo %d is %d×%d with %d bytes, expected H·W·3 bytes and a positive size of at most %d pixels: %w",
				i, p.H, p.W, len(p.Pix), MaxPhotoPixels, ErrArgument)
		}
		if l := m.Labels[i]; l < 0 || int(l) >= len(m.ClassNames) {
			return fmt.Errorf("data: label %d of photo %d is outside [0, %d): %w", l, i, len(m.ClassNames), ErrArgument)
		}
	}
	return nil
}

// LoadImageFolder scans dir (see ImageFolder) and decodes every image; see (*ImageFolder).Load.
func LoadImageFolder(dir string, opts LoadOptions) (*Images, error) {
	f, err := ScanImageFolder(dir)
	if err != nil {
		return nil, err
	}
	return f.Load(opts)
}

// Load decodes the listed images (JPEG with image/jpeg, PNG with image/png, whatever their extension
// says) on opts.Workers goroutines into 8-bit RGB: grayscale is replicated to the three channels, PNG
// alpha is dropped (as TensorFlow's decode_image with channels=3 does). The result keeps the listing's
// order. A file that cannot be read or decoded is an error naming it (ErrFormat for undecodable data,
// ErrNotFound for a file that disappeared), unless opts.SkipBad, which records it in Images.Skipped.
//
// Decoded pixels are Go's: JPEG decoders differ slightly in IDCT and chroma upsampling, so values may
// differ from libjpeg's (TensorFlow's) by a few levels.
func (f *ImageFolder) Load(opts LoadOptions) (*Images, error) {
	if opts.ShorterSide < 0 {
		return nil, fmt.Errorf("data: LoadOptions.ShorterSide %d is negative: %w", opts.ShorterSide, ErrArgument)
	}
	n := f.Len()
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, n))
	photos := make([]Photo, n)
	errs := make([]error, n)
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || (failed.Load() && !opts.SkipBad) {
					return
				}
				p := filepath.Join(f.Dir, filepath.FromSlash(f.Paths[i]))
				photos[i], errs[i] = decodePhoto(p, opts.ShorterSide)
				if errs[i] != nil {
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()

	m := &Images{ClassNames: f.ClassNames, Photos: photos[:0], Labels: make([]int32, 0, n), Paths: make([]string, 0, n)}
	for i, err := range errs {
		if err != nil {
			if !opts.SkipBad {
				return nil, err
			}
			m.Skipped = append(m.Skipped, f.Paths[i])
			continue
		}
		if photos[i].Pix == nil { // not decoded because an earlier failure stopped the workers
			continue
		}
		m.Photos = append(m.Photos, photos[i])
		m.Labels = append(m.Labels, f.Labels[i])
		m.Paths = append(m.Paths, f.Paths[i])
	}
	m.Photos = slices.Clip(m.Photos)
	return m, nil
}

// decodePhoto reads and decodes one file into RGB bytes, shrinking it when its shorter side exceeds
// shorter (> 0).
func decodePhoto(p string, shorter int) (Photo, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Photo{}, fmt.Errorf("data: read %s: %w: %w", p, ErrNotFound, err)
		}
		return Photo{}, fmt.Errorf("data: read %s: %w", p, err)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return Photo{}, fmt.Errorf("data: decode %s: %w: %w", p, ErrFormat, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxPhotoPixels {
		return Photo{}, fmt.Errorf("data: decode %s: %s of %d×%d pixels (at most %d allowed): %w", p, format, cfg.Width, cfg.Height, MaxPhotoPixels, ErrFormat)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return Photo{}, fmt.Errorf("data: decode %s: %w: %w", p, ErrFormat, err)
	}
	ph := toRGB(img)
	if shorter > 0 && min(ph.H, ph.W) > shorter {
		ph = shrink(ph, shorter)
	}
	return ph, nil
}

// toRGB converts a decoded image to packed RGB bytes, with fast paths for what JPEG and PNG decoders
// return.
func toRGB(img image.Image) Photo {
	r := img.Bounds()
	h, w := r.Dy(), r.Dx()
	pix := make([]uint8, h*w*3)
	o := 0
	switch m := img.(type) {
	case *image.YCbCr:
		if sx, sy, ok := chromaShift(m); ok { // the usual case, with the offset arithmetic hoisted
			for y := range h {
				cw := (w-1)>>sx + 1
				ys := m.Y[y*m.YStride:][:w]
				cb, cr := m.Cb[(y>>sy)*m.CStride:][:cw], m.Cr[(y>>sy)*m.CStride:][:cw]
				for x, yv := range ys {
					pix[o], pix[o+1], pix[o+2] = color.YCbCrToRGB(yv, cb[x>>sx], cr[x>>sx])
					o += 3
				}
			}
			break
		}
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				yi, ci := m.YOffset(x, y), m.COffset(x, y)
				pix[o], pix[o+1], pix[o+2] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				o += 3
			}
		}
	case *image.Gray:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row := m.Pix[m.PixOffset(r.Min.X, y):][:w]
			for _, v := range row {
				pix[o], pix[o+1], pix[o+2] = v, v, v
				o += 3
			}
		}
	case *image.NRGBA:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row := m.Pix[m.PixOffset(r.Min.X, y):][:4*w]
			for x := 0; x < 4*w; x += 4 {
				pix[o], pix[o+1], pix[o+2] = row[x], row[x+1], row[x+2]
				o += 3
			}
		}
	default: // paletted, 16-bit, CMYK, premultiplied RGBA...: through the non-premultiplied colour model
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
				pix[o], pix[o+1], pix[o+2] = c.R, c.G, c.B
				o += 3
			}
		}
	}
	return Photo{Pix: pix, H: h, W: w}
}

// chromaShift returns the horizontal and vertical chroma subsampling shifts of an image anchored at the
// origin (as decoders return them), or ok false for layouts left to the generic path.
func chromaShift(m *image.YCbCr) (sx, sy int, ok bool) {
	if m.Rect.Min != (image.Point{}) {
		return 0, 0, false
	}
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
		return 0, 0, true
	case image.YCbCrSubsampleRatio422:
		return 1, 0, true
	case image.YCbCrSubsampleRatio420:
		return 1, 1, true
	case image.YCbCrSubsampleRatio440:
		return 0, 1, true
	}
	return 0, 0, false
}

// shrink resizes p so that its shorter side is side pixels, rounding the longer side, with the
// bilinear resampling of ResizeBilinear, rounded to the nearest byte.
func shrink(p Photo, side int) Photo {
	h, w := side, side
	if p.H > p.W {
		h = max(side, int(math.Round(float64(p.H)*float64(side)/float64(p.W))))
	} else {
		w = max(side, int(math.Round(float64(p.W)*float64(side)/float64(p.H))))
	}
	f := resizeHWC(p, Crop{H: p.H, W: p.W}, h, w)
	pix := make([]uint8, len(f))
	for i, v := range f {
		pix[i] = uint8(min(255, max(0, math.Round(float64(v)))))
	}
	return Photo{Pix: pix, H: h, W: w}
}

// classCounts counts labels in [0, classes).
func classCounts(labels []int32, classes int) []int {
	c := make([]int, classes)
	for _, l := range labels {
		if l >= 0 && int(l) < classes {
			c[l]++
		}
	}
	return c
}

// indices returns 0, 1, ..., n−1.
func indices(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
