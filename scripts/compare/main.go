// Command compare draws the training curves of several runs in one plot (the study's CNN-vs-FCN
// figure): go run ./scripts/compare -runs runs/fashion-cnn-book,runs/fashion-fcn-book
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"fovea/training"
)

func main() {
	runs := flag.String("runs", "", "comma-separated run folders (each holding the history.json a training script wrote)")
	names := flag.String("names", "", "comma-separated legend names (default: each history's model name)")
	out := flag.String("out", "compare", "output folder for accuracy.png and loss.png")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Draws train (dashed) and validation (solid) curves of several runs in one plot per metric.\n\nUsage: go run ./scripts/compare -runs DIR,DIR[,...] [-names A,B] [-out DIR]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*runs, *names, *out); err != nil {
		fmt.Fprintf(os.Stderr, "compare: %v\n", err)
		os.Exit(1)
	}
}

func run(runList, nameList, out string) error {
	if runList == "" {
		return fmt.Errorf("no runs given (-runs DIR,DIR)")
	}
	dirs := strings.Split(runList, ",")
	var labels []string
	if nameList != "" {
		labels = strings.Split(nameList, ",")
		if len(labels) != len(dirs) {
			return fmt.Errorf("%d names for %d runs", len(labels), len(dirs))
		}
	}
	var runs []training.Run
	for i, dir := range dirs {
		h, err := training.ReadHistoryJSON(filepath.Join(dir, "history.json"))
		if err != nil {
			return err
		}
		name := h.Model
		if labels != nil {
			name = labels[i]
		}
		runs = append(runs, training.Run{Name: name, History: h})
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, metric := range []string{"accuracy", "loss"} {
		path := filepath.Join(out, metric+".png")
		if err := training.PlotComparison(runs, metric, path); err != nil {
			return err
		}
		fmt.Println(path)
	}
	return nil
}
