// Command report builds fovea's results page from the run folders the training scripts write: the
// study's results table next to fovea's, and the study's figures (convolution and pooling demos,
// learning curves, CNN against the fully connected net):
//
//	go run ./scripts/report -runs runs/ -out report/
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"fovea/demo"
	"fovea/results"
)

func main() {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	runs := fs.String("runs", "runs", "folder of run folders (each holding metrics.json and/or history.json), or one run folder")
	out := fs.String("out", "report", "output folder for README.md and figures/")
	image := fs.String("image", "", "photo for Figures 1 and 2, JPEG or PNG (default: the first tf_flowers photo under the data root; none: the figures are left out)")
	dataDir := fs.String("data", "", "data root searched for flower_photos/<class>/*.jpg when -image is not given (default $FOVEA_DATA, else the user cache dir)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Writes one Markdown page, <out>/README.md, with the study's results table (its test accuracy and fovea's, per run),\n"+
			"the convolution and pooling demos, each model's accuracy and loss curves and the CNN-vs-FCN comparison, the\n"+
			"figures as PNGs under <out>/figures/. Models without a run are shown as not run.\n\n"+
			"Usage: go run ./scripts/report [-runs DIR] [-out DIR] [-image PHOTO] [-data DIR]\n\nFlags:\n")
		fs.PrintDefaults()
	}
	_ = fs.Parse(os.Args[1:])
	found, problems, err := results.ReadRuns(*runs)
	if err != nil {
		fail(err)
	}
	for _, p := range problems {
		fmt.Fprintf(os.Stderr, "report: skipping %v\n", p)
	}
	photo, err := demo.ResolvePhoto(*image, *dataDir)
	if errors.Is(err, demo.ErrNoPhoto) {
		fmt.Fprintf(os.Stderr, "report: leaving out Figures 1 and 2: %v\n", err)
		photo = ""
	} else if err != nil {
		fail(err)
	}
	rep := results.New(found, problems)
	if err := rep.Write(*out, results.Options{RunsDir: *runs, Photo: photo}); err != nil {
		fail(err)
	}
	noun := "runs"
	if len(found) == 1 {
		noun = "run"
	}
	fmt.Printf("%s: %d %s\n", filepath.Join(*out, results.PageFile), len(found), noun)
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "report: %v\n", err)
	os.Exit(1)
}
