package data

import (
	"fmt"
	"math"
)

// Augment describes random training-time augmentation, applied to raw pixels
// before standardisation, so pixels shifted in from outside the image are raw
// zeros (background) and standardise exactly like real zero pixels.
type Augment struct {
	// MaxShift is the largest translation in pixels along each axis; each
	// image is moved by dx, dy drawn uniformly from [−MaxShift, MaxShift].
	MaxShift int
	// FlipHorizontal mirrors each image left–right with probability 1/2.
	FlipHorizontal bool
	// EraseProb is the probability of random erasing (Zhong et al., 2017):
	// a rectangle covering 2% to 40% of the image, of aspect ratio between
	// 0.3 and 1/0.3, is set to 0 after standardisation (the training mean),
	// in every channel, as torchvision's RandomErasing does by default.
	EraseProb float64
}

// Random erasing's rectangle: its area as a fraction of the image, its
// height/width ratio, and the number of draws tried for one that fits.
const (
	eraseMinArea, eraseMaxArea = 0.02, 0.4
	eraseMinAspect             = 0.3
	eraseTries                 = 10
)

// active reports whether a changes any sample.
func (a *Augment) active() bool {
	return a.MaxShift > 0 || a.FlipHorizontal || a.EraseProb > 0
}

func (a *Augment) validate() error {
	if a.MaxShift < 0 || a.MaxShift > maxIDXSide {
		return fmt.Errorf("data: Augment.MaxShift %d must be in [0, %d]: %w", a.MaxShift, maxIDXSide, ErrArgument)
	}
	if !(a.EraseProb >= 0 && a.EraseProb <= 1) {
		return fmt.Errorf("data: Augment.EraseProb %g must be in [0, 1]: %w", a.EraseProb, ErrArgument)
	}
	return nil
}

// transform is one sample's draw.
type transform struct {
	dx, dy int
	flip   bool
	// erase is the rectangle [x0, x0+w) × [y0, y0+h) set to the mean; w = 0: none.
	erase struct{ x0, y0, w, h int }
}

// draw derives the transform for the sample at position pos of epoch e from
// the seed alone, so it does not depend on what was drawn before.
// h and w are the image's height and width (for the erased rectangle).
func (a *Augment) draw(seed uint64, epoch, pos, h, w int) transform {
	r := hash3(seed, streamAugment, uint64(epoch), uint64(pos))
	var t transform
	if a.MaxShift > 0 {
		span := 2*a.MaxShift + 1
		t.dx = uniform(r, span) - a.MaxShift
		t.dy = uniform(r>>32, span) - a.MaxShift
	}
	if a.FlipHorizontal {
		t.flip = splitmix64(r)&1 == 1
	}
	if a.EraseProb > 0 {
		t.erase.x0, t.erase.y0, t.erase.w, t.erase.h = a.drawErase(splitmix64(r^streamErase), h, w)
	}
	return t
}

// drawErase returns random erasing's rectangle for the random word r, or
// w = 0 when this sample is not erased or no draw fitted. As in the paper,
// the area and the logarithm of the aspect ratio are uniform, and a draw that
// does not fit inside the image is tried again.
func (a *Augment) drawErase(r uint64, h, w int) (x0, y0, ew, eh int) {
	unit := func() float64 { r = splitmix64(r); return float64(r>>11) / (1 << 53) }
	if unit() >= a.EraseProb {
		return 0, 0, 0, 0
	}
	logMin := math.Log(eraseMinAspect)
	for range eraseTries {
		area := float64(h*w) * (eraseMinArea + (eraseMaxArea-eraseMinArea)*unit())
		aspect := math.Exp(logMin + (-2*logMin)*unit())
		eh = int(math.Round(math.Sqrt(area * aspect)))
		ew = int(math.Round(math.Sqrt(area / aspect)))
		if eh < 1 || ew < 1 || eh > h || ew > w {
			continue
		}
		r = splitmix64(r)
		return uniform(r, w-ew+1), uniform(r>>32, h-eh+1), ew, eh
	}
	return 0, 0, 0, 0
}
