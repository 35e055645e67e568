// Package results builds fovea's results page: it reads the run folders that the training scripts write
// (metrics.json, history.json, accuracy.png, loss.png), matches each run to the result of the study it
// reproduces (Géron, Hands-On Machine Learning, ch. 14), and writes one Markdown page with the results
// table and the study's figures: the convolution and pooling demos, each model's learning curves and the
// CNN-vs-FCN comparison.
//
// It never trains and never invents a number: a study result without a run is shown as not run, and a
// run without metrics.json as not finished.
package results
