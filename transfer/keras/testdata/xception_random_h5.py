#!/usr/bin/python3
"""Write Keras' Xception without top, with random weights of sensible scale, as a Keras HDF5 weight file.

Usage: /usr/bin/python3 xception_random_h5.py OUT.h5 [SEED]

The layers, their names and their order are those of make_keras_h5.py's xception_layers(): the
save_weights layout of keras.applications.Xception(include_top=False) as Keras 2.0 wrote it for the
official file (root attribute layer_names, one group per layer with attribute weight_names, datasets at
<layer>/<weight name>, little-endian float32). Unlike make_keras_h5.py --xception, whose values are
standard normal (fine for checking the conversion bit for bit, useless for a forward pass), the values
here keep the activations of a forward pass near the scale of ImageNet-trained Xception, so that
outputs can be compared and a classifier head trained on them:

    kernel, pointwise_kernel   normal, standard deviation sqrt(2 / fan_in) (He)
    depthwise_kernel           normal, standard deviation sqrt(1 / (kh * kw))
    gamma, moving_variance     uniform in [0.5, 1.5] (variances are positive)
    beta, moving_mean          uniform in [-0.2, 0.2]

with two exceptions for gamma. The last BatchNormalization of each middle-flow block (block5 … block12
sepconv3_bn) has gamma in [0.1, 0.3], so that the eight identity shortcuts do not double the scale eight
times (as in "zero-init residual" initialisation); block14_sepconv2_bn has gamma in [0.05, 0.15], which
brings the features (block14_sepconv2_act) to a mean near 1 and a maximum near 10 on inputs in [-1, 1],
as with ImageNet weights. (With gamma in [0.5, 1.5] throughout, features reach thousands, and the book's
learning rate of 0.2 for the head diverges.)

Needs Debian's python3-h5py (and numpy).
"""
import os
import re
import sys

import h5py
import numpy as np

sys.dont_write_bytecode = True  # leave no __pycache__ in testdata
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_keras_h5 import xception_layers  # noqa: E402  (the layer table, shared with the conversion tests)


def random_weight(rng, layer, kind, shape):
    if kind == "gamma" and re.fullmatch(r"block([5-9]|1[0-2])_sepconv3_bn", layer):
        return rng.uniform(0.1, 0.3, shape)
    if kind == "gamma" and layer == "block14_sepconv2_bn":
        return rng.uniform(0.05, 0.15, shape)
    if kind in ("kernel", "pointwise_kernel"):
        fan_in = int(np.prod(shape[:-1]))
        return rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
    if kind == "depthwise_kernel":
        return rng.standard_normal(shape) * np.sqrt(1.0 / (shape[0] * shape[1]))
    if kind in ("gamma", "moving_variance"):
        return rng.uniform(0.5, 1.5, shape)
    if kind in ("beta", "moving_mean"):
        return rng.uniform(-0.2, 0.2, shape)
    raise ValueError("no random values for a %s of shape %s" % (kind, shape))


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    path = sys.argv[1]
    rng = np.random.default_rng(int(sys.argv[2]) if len(sys.argv) == 3 else 5)
    layers = xception_layers()
    values = 0
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.0.8"
        f.attrs["layer_names"] = np.asarray([name.encode("utf8") for name, _ in layers])
        for lname, weights in layers:
            g = f.create_group(lname)
            g.attrs["weight_names"] = np.asarray([w.encode("utf8") for w, _ in weights])
            for wname, shape in weights:
                kind = wname.rsplit("/", 1)[-1].split(":")[0]
                g.create_dataset(wname, data=random_weight(rng, lname, kind, shape).astype("<f4"))
                values += int(np.prod(shape))
    print("%s: %d layers, %d with weights, %d values" % (path, len(layers), sum(1 for _, w in layers if w), values))


if __name__ == "__main__":
    main()
