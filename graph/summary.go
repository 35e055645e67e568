package graph

import (
	"fmt"
	"strconv"
	"strings"

	"gorgonia.org/tensor"
)

// FormatSummary prints a Keras-style model summary: one row per layer with its output shape (fovea's
// NCHW order, batch as None) and parameter count, then the totals of params.
func FormatSummary(model string, layers []LayerInfo, params *Params) string {
	var sb strings.Builder
	rule := strings.Repeat("_", 65)
	fmt.Fprintf(&sb, "Model: %q\n%s\n", model, rule)
	fmt.Fprintf(&sb, " %-33s %-22s %s\n", "Layer (type)", "Output Shape", "Param #")
	sb.WriteString(strings.Repeat("=", 65) + "\n")
	for _, l := range layers {
		fmt.Fprintf(&sb, " %-33s %-22s %s\n", fmt.Sprintf("%s (%s)", l.Name, l.Type), batchShape(l.OutputShape), groupDigits(l.Params))
	}
	trainable, frozen := params.Count()
	sb.WriteString(strings.Repeat("=", 65) + "\n")
	fmt.Fprintf(&sb, "Total params: %s\nTrainable params: %s\nNon-trainable params: %s\n%s\n",
		groupDigits(trainable+frozen), groupDigits(trainable), groupDigits(frozen), rule)
	return sb.String()
}

// batchShape formats a shape with its batch axis as None, as Keras prints it.
func batchShape(s tensor.Shape) string {
	parts := []string{"None"}
	for _, d := range s[min(1, len(s)):] {
		parts = append(parts, strconv.Itoa(d))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// groupDigits writes n with thousands separators: 1413834 → 1,413,834.
func groupDigits(n int) string {
	s := strconv.Itoa(n)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
