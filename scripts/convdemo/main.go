// Command convdemo filters a photo with a convolution kernel through fovea's Conv2D op and writes the
// original and the result side by side in one PNG (the study's Figure 1):
//
//	go run ./scripts/convdemo -image photo.jpg -filter sharpen -out conv.png
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"fovea/demo"
)

func main() {
	fs := flag.NewFlagSet("convdemo", flag.ExitOnError)
	image := fs.String("image", "", "input photo, JPEG or PNG (default: the first tf_flowers photo under the data root)")
	dataDir := fs.String("data", "", "data root searched for flower_photos/<class>/*.jpg when -image is not given (default $FOVEA_DATA, else the user cache dir)")
	filter := fs.String("filter", "sharpen", "filter: "+strings.Join(demo.FilterNames(), ", "))
	kernel := fs.String("kernel", "", `a square kernel of your own instead of -filter, comma-separated in row-major order, e.g. "0,-1,0,-1,5,-1,0,-1,0" for 3×3`)
	size := fs.Int("size", 256, "resize (bilinear) so that the shorter side has this many pixels; 0 keeps the photo's size")
	out := fs.String("out", "conv.png", "output PNG")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Converts a photo to grayscale in [0, 1], filters it with fovea's Conv2D op (stride 1, SAME zero padding) and\n"+
			"writes the input and the result side by side in one PNG. The result is min-max scaled to 0–255 for display.\n\n"+
			"Usage: go run ./scripts/convdemo [-image PHOTO] [-filter NAME | -kernel K,K,...] [-size N] [-out FILE.png]\n\nFilters:\n")
		for _, f := range demo.Filters() {
			fmt.Fprintf(fs.Output(), "  %-16s %s\n", f.Name, f.About)
		}
		fmt.Fprintf(fs.Output(), "\nFlags:\n")
		fs.PrintDefaults()
	}
	_ = fs.Parse(os.Args[1:])
	filterSet := false
	fs.Visit(func(f *flag.Flag) { filterSet = filterSet || f.Name == "filter" })
	if filterSet && *kernel != "" {
		fail(fmt.Errorf("give -filter or -kernel, not both"))
	}
	f, err := demo.ChooseFilter(*filter, *kernel)
	if err != nil {
		fail(err)
	}
	path, err := demo.ResolvePhoto(*image, *dataDir)
	if err != nil {
		fail(err)
	}
	img, err := demo.LoadImage(path)
	if err != nil {
		fail(err)
	}
	panels, err := demo.ConvFigure(img, f, *size)
	if err != nil {
		fail(fmt.Errorf("%s: %w", path, err))
	}
	fig, err := demo.Compose(panels, 0)
	if err != nil {
		fail(err)
	}
	if err := demo.WritePNG(*out, fig); err != nil {
		fail(err)
	}
	fmt.Printf("%s: %s filtered with %s (%s)\n", *out, path, f.Name, f.About)
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "convdemo: %v\n", err)
	os.Exit(1)
}
