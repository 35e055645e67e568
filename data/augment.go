package data

import "fmt"

// Augment describes random training-time augmentation, applied to raw pixels
// before standardisation, so pixels shifted in from outside the image are raw
// zeros (background) and standardise exactly like real zero pixels.
type Augment struct {
	// MaxShift is the largest translation in pixels along each axis; each
	// image is moved by dx, dy drawn uniformly from [−MaxShift, MaxShift].
	MaxShift int
	// FlipHorizontal mirrors each image left–right with probability 1/2.
	FlipHorizontal bool
}

func (a *Augment) validate() error {
	if a.MaxShift < 0 || a.MaxShift > maxIDXSide {
		return fmt.Errorf("data: Augment.MaxShift %d must be in [0, %d]: %w", a.MaxShift, maxIDXSide, ErrArgument)
	}
	return nil
}

// transform is one sample's draw.
type transform struct {
	dx, dy int
	flip   bool
}

// draw derives the transform for the sample at position pos of epoch e from
// the seed alone, so it does not depend on what was drawn before.
func (a *Augment) draw(seed uint64, epoch, pos int) transform {
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
	return t
}
