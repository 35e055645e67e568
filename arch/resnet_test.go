package arch

import (
	"strings"
	"testing"
)

func TestResNet34ParameterCounts(t *testing.T) {
	cases := []struct {
		name  string
		model ResNet
		want  []string
	}{
		// Keras' summary of Géron's ResNet-34 on 224×224×3 with Dense(10).
		{"imagenet form", ResNet34(3, 224, 224, 10), []string{"Total params: 21,306,826", "Non-trainable params: 17,024"}},
		// The same network on Fashion-MNIST differs only in the stem's input channels: 49·64 fewer weights.
		{"fashion-mnist form", ResNet34(1, 28, 28, 10), []string{"Total params: 21,300,554", "Non-trainable params: 17,024"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			summary, _, _ := build(t, tc.model, 1)
			for _, w := range tc.want {
				if !strings.Contains(summary, w) {
					t.Fatalf("summary lacks %q:\n%s", w, summary)
				}
			}
		})
	}
}
