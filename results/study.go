package results

import "strings"

// StudyResult is one result of the study fovea reproduces.
type StudyResult struct {
	// Key identifies the result ("cnn", "fcn", "resnet34", "transfer").
	Key string
	// Model and Dataset are named as the study names them.
	Model, Dataset string
	// Accuracy is the study's test accuracy, in [0, 1].
	Accuracy float64
	// Aliases are the metrics.json "model" names that reproduce this result, compared without case,
	// hyphens or underscores; a run's model matches when it contains an alias (the longest alias that
	// any result offers wins, so "fashion-resnet34" is ResNet-34, not a CNN).
	Aliases []string
	// Figures are the study's figure numbers of this model's learning curves.
	Figures []int
}

// Study returns the study's results in the order of its results table.
func Study() []StudyResult {
	return []StudyResult{
		{Key: "cnn", Model: "CNN", Dataset: "Fashion-MNIST", Accuracy: 0.90,
			Aliases: []string{"fashion-cnn", "cnn"}, Figures: []int{3}},
		{Key: "fcn", Model: "fully connected net", Dataset: "Fashion-MNIST", Accuracy: 0.87,
			Aliases: []string{"fashion-fcn", "fcn", "mlp"}, Figures: []int{5}},
		{Key: "resnet34", Model: "ResNet-34", Dataset: "Fashion-MNIST", Accuracy: 0.88,
			Aliases: []string{"resnet34", "resnet"}, Figures: []int{6}},
		{Key: "transfer", Model: "Xception, transfer learning", Dataset: "tf_flowers", Accuracy: 0.9306,
			Aliases: []string{"xception", "squeezenet", "transfer"}, Figures: []int{7, 8}},
	}
}

// comparisonFigure is the study's figure comparing the CNN's and the fully connected net's curves.
const comparisonFigure = 4

// normalizeModel lowercases a model name and drops hyphens, underscores and spaces.
func normalizeModel(s string) string {
	return strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToLower(s))
}

// matchStudy returns the index in study of the result that model reproduces, or -1.
func matchStudy(study []StudyResult, model string) int {
	m := normalizeModel(model)
	best, bestLen := -1, 0
	for i, r := range study {
		for _, a := range r.Aliases {
			if a := normalizeModel(a); a != "" && strings.Contains(m, a) && len(a) > bestLen {
				best, bestLen = i, len(a)
			}
		}
	}
	return best
}
