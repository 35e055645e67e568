// Command pooldemo pools a photo with fovea's pooling ops and writes four panels in one PNG (the study's
// Figure 2): the input, 2×2 max pooling, 2×2 average pooling and depthwise max pooling across the three
// RGB channels:
//
//	go run ./scripts/pooldemo -image photo.jpg -out pool.png
package main

import (
	"flag"
	"fmt"
	"os"

	"fovea/demo"
)

func main() {
	fs := flag.NewFlagSet("pooldemo", flag.ExitOnError)
	image := fs.String("image", "", "input photo, JPEG or PNG (default: the first tf_flowers photo under the data root)")
	dataDir := fs.String("data", "", "data root searched for flower_photos/<class>/*.jpg when -image is not given (default $FOVEA_DATA, else the user cache dir)")
	size := fs.Int("size", 128, "resize (bilinear) so that the shorter side has this many pixels; 0 keeps the photo's size")
	zoom := fs.Int("zoom", 2, "show the input and the depthwise result enlarged this many times, the 2×2 pooled images twice as much (nearest neighbour)")
	out := fs.String("out", "pool.png", "output PNG")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Pools one RGB photo, as a (1, 3, H, W) tensor with values in [0, 1], through fovea's MaxPool2D and AvgPool2D\n"+
			"(2×2, stride 2, per channel) and DepthwiseMaxPool (the maximum of R, G and B at every pixel), and writes the input\n"+
			"and the three results as a 2×2 grid of titled panels in one PNG. Values are shown as they are (0–1 as 0–255).\n\n"+
			"Usage: go run ./scripts/pooldemo [-image PHOTO] [-size N] [-zoom N] [-out FILE.png]\n\nFlags:\n")
		fs.PrintDefaults()
	}
	_ = fs.Parse(os.Args[1:])
	path, err := demo.ResolvePhoto(*image, *dataDir)
	if err != nil {
		fail(err)
	}
	img, err := demo.LoadImage(path)
	if err != nil {
		fail(err)
	}
	panels, err := demo.PoolFigure(img, *size, *zoom)
	if err != nil {
		fail(fmt.Errorf("%s: %w", path, err))
	}
	fig, err := demo.Compose(panels, 2)
	if err != nil {
		fail(err)
	}
	if err := demo.WritePNG(*out, fig); err != nil {
		fail(err)
	}
	fmt.Printf("%s: %s pooled\n", *out, path)
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "pooldemo: %v\n", err)
	os.Exit(1)
}
