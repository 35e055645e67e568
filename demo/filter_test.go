package demo

import (
	"slices"
	"strings"
	"testing"
)

func TestFilters(t *testing.T) {
	for _, f := range Filters() {
		if len(f.Weights) != f.Size*f.Size {
			t.Errorf("%s: %d weights for %d×%d", f.Name, len(f.Weights), f.Size, f.Size)
		}
		got, err := LookupFilter(f.Name)
		if err != nil || got.Name != f.Name {
			t.Errorf("LookupFilter(%q) = %v, %v", f.Name, got.Name, err)
		}
	}
	// Géron's line filters: a 7×7 kernel of zeros with ones in the middle column (row).
	v, _ := LookupFilter("vertical-line")
	h, _ := LookupFilter("horizontal-line")
	for r := range 7 {
		for c := range 7 {
			if want := float64(b2i(c == 3)); v.Weights[r*7+c] != want {
				t.Fatalf("vertical-line[%d][%d] = %v, want %v", r, c, v.Weights[r*7+c], want)
			}
			if want := float64(b2i(r == 3)); h.Weights[r*7+c] != want {
				t.Fatalf("horizontal-line[%d][%d] = %v, want %v", r, c, h.Weights[r*7+c], want)
			}
		}
	}
	if _, err := LookupFilter("blur"); err == nil || !strings.Contains(err.Error(), "sharpen") {
		t.Fatalf("unknown filter: error %v should list the filters", err)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestParseKernel(t *testing.T) {
	cases := []struct {
		in      string
		size    int
		weights []float64
		wantErr string
	}{
		{in: "0,-1,0,-1,5,-1,0,-1,0", size: 3, weights: []float64{0, -1, 0, -1, 5, -1, 0, -1, 0}},
		{in: " 1, 2 ,3,4", size: 2, weights: []float64{1, 2, 3, 4}},
		{in: "0.5", size: 1, weights: []float64{0.5}},
		{in: "1,2,3", wantErr: "square"},
		{in: "1,x,3,4", wantErr: `value 2 ("x")`},
		{in: "", wantErr: "value 1"},
		{in: "1,NaN,3,4", wantErr: "finite"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			f, err := ParseKernel(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Size != tc.size || !slices.Equal(f.Weights, tc.weights) {
				t.Fatalf("got %d×%d %v", f.Size, f.Size, f.Weights)
			}
		})
	}
	f, err := ChooseFilter("edge", "1,0,0,1")
	if err != nil || f.Name != "custom" {
		t.Fatalf("ChooseFilter with a kernel = %q, %v; want the custom kernel", f.Name, err)
	}
}
