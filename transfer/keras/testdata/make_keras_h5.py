#!/usr/bin/python3
"""Write small Keras-layout HDF5 weight files, and a manifest of what they hold, for fovea's tests.

Usage: /usr/bin/python3 make_keras_h5.py OUTDIR            the small files
       /usr/bin/python3 make_keras_h5.py --xception OUTDIR  xception.h5: Keras' Xception without top, random weights (83 MB)

Needs Debian's python3-h5py (and numpy). The files follow Keras 2's hdf5_format.py: the save_weights layout
(root attribute layer_names, one group per layer with attribute weight_names, datasets at
<layer>/<weight name>) and the full-model layout (the same under /model_weights, plus model_config and an
optimizer_weights group). The manifest (OUTDIR/manifest.json) gives, for each file, the layers and weights
in order with shapes and the SHA-256 of each weight's float32 little-endian bytes, both as stored (Keras
layout) and converted to fovea's layout with numpy (OIHW kernels, depthwise (in*mult, 1, kh, kw)), so the Go
tests compare against values computed independently of fovea.
"""
import hashlib
import json
import os
import sys

import h5py
import numpy as np

# Keras splits attributes larger than this into name0, name1, ... (HDF5_OBJECT_HEADER_LIMIT).
HEADER_LIMIT = 64512


def sha(a):
    return hashlib.sha256(np.ascontiguousarray(a, dtype="<f4").tobytes()).hexdigest()


def fovea_layout(kind, a):
    """The weight in fovea's layout, by numpy transposes (independent of fovea's Go code)."""
    if kind == "kernel" and a.ndim == 4:  # Conv2D HWIO -> OIHW
        return np.transpose(a, (3, 2, 0, 1))
    if kind == "depthwise_kernel":  # (kh, kw, in, mult) -> (in*mult, 1, kh, kw), channel c*mult+m
        kh, kw, cin, mult = a.shape
        return np.transpose(a, (2, 3, 0, 1)).reshape(cin * mult, 1, kh, kw)
    if kind == "pointwise_kernel":  # (1, 1, in, out) -> (out, in, 1, 1)
        return np.transpose(a, (3, 2, 0, 1))
    return a  # Dense (in, out), vectors


def save_attr(group, name, data, limit=HEADER_LIMIT):
    """Keras' save_attributes_to_hdf5_group, with the chunking threshold as a parameter."""
    arr = np.asarray(data)
    if arr.nbytes <= limit:
        group.attrs[name] = arr
        return
    n = 1
    while True:
        chunks = np.array_split(arr, n)
        if all(c.nbytes <= limit for c in chunks):
            break
        n += 1
    for i, c in enumerate(chunks):
        group.attrs["%s%d" % (name, i)] = c


def write(group, layers, rng, dataset_opts, attr_limit=HEADER_LIMIT, missing=None):
    """Write layers [(layer name, [(weight name, shape)])] under group; returns the manifest entries."""
    save_attr(group, "layer_names", [n.encode("utf8") for n, _ in layers], attr_limit)
    out = []
    for lname, weights in layers:
        g = group.create_group(lname)
        save_attr(g, "weight_names", [w.encode("utf8") for w, _ in weights], attr_limit)
        entry = {"name": lname, "weights": []}
        for wname, shape in weights:
            val = rng.standard_normal(shape).astype(np.float32)
            if wname != missing:
                d = g.create_dataset(wname, shape, dtype="<f4", **dataset_opts(shape))
                d[...] = val
            kind = wname.rsplit("/", 1)[-1].split(":")[0]
            conv = fovea_layout(kind, val)
            entry["weights"].append({
                "name": wname, "shape": list(shape), "sha256": sha(val),
                "fovea_shape": list(conv.shape), "fovea_sha256": sha(conv),
                "first": [float(x) for x in val.reshape(-1)[:3]],
            })
        out.append(entry)
    return out


SMALL = [  # a Conv-BN-Dense net with Keras' automatic names, one layer without weights
    ("input_1", []),
    ("conv2d", [("conv2d/kernel:0", (3, 3, 2, 4)), ("conv2d/bias:0", (4,))]),
    ("batch_normalization", [("batch_normalization/gamma:0", (4,)), ("batch_normalization/beta:0", (4,)),
                             ("batch_normalization/moving_mean:0", (4,)),
                             ("batch_normalization/moving_variance:0", (4,))]),
    ("conv2d_1", [("conv2d_1/kernel:0", (1, 1, 4, 3))]),
    ("flatten", []),
    ("dense", [("dense/kernel:0", (12, 5)), ("dense/bias:0", (5,))]),
]

NESTED = [  # SqueezeNet style: "/" in layer names, weight names with another prefix
    ("input_4", []),
    ("conv1", [("conv1_3/kernel:0", (3, 3, 3, 8)), ("conv1_3/bias:0", (8,))]),
    ("fire2/squeeze1x1", [("fire2/squeeze1x1_3/kernel:0", (1, 1, 8, 2)), ("fire2/squeeze1x1_3/bias:0", (2,))]),
    ("fire2/relu_squeeze1x1", []),
    ("fire2/expand3x3", [("fire2/expand3x3_3/kernel:0", (3, 3, 2, 4)), ("fire2/expand3x3_3/bias:0", (4,))]),
]

SEPARABLE = [  # Xception style: separable and depthwise convolutions
    ("block1_conv1", [("block1_conv1/kernel:0", (3, 3, 3, 4))]),
    ("block1_conv1_bn", [("block1_conv1_bn/gamma:0", (4,)), ("block1_conv1_bn/beta:0", (4,)),
                         ("block1_conv1_bn/moving_mean:0", (4,)), ("block1_conv1_bn/moving_variance:0", (4,))]),
    ("block2_sepconv1", [("block2_sepconv1/depthwise_kernel:0", (3, 3, 4, 1)),
                         ("block2_sepconv1/pointwise_kernel:0", (1, 1, 4, 6))]),
    ("dwconv", [("dwconv/depthwise_kernel:0", (3, 3, 6, 2)), ("dwconv/bias:0", (12,))]),
    ("predictions", [("predictions/kernel:0", (12, 3)), ("predictions/bias:0", (3,))]),
]


def xception_layers():
    """Keras' applications/xception.py without top, in the order of model.layers (layers sorted by depth:
    a block's shortcut convolution and BatchNormalization come after its second separable convolution),
    with the automatic names of Keras 2.0, which the original 2017 weight file carries (conv2d_1 …)."""
    L = [("input_1", [])]

    def conv(name, kh, cin, cout):
        return [(name, [(name + "/kernel:0", (kh, kh, cin, cout))])]

    def bn(name, c):
        return [(name, [(name + "/" + w + ":0", (c,)) for w in ("gamma", "beta", "moving_mean", "moving_variance")])]

    def sep(name, cin, cout):
        return [(name, [(name + "/depthwise_kernel:0", (3, 3, cin, 1)), (name + "/pointwise_kernel:0", (1, 1, cin, cout))])]

    def act(name):
        return [(name, [])]

    L += conv("block1_conv1", 3, 3, 32) + bn("block1_conv1_bn", 32) + act("block1_conv1_act")
    L += conv("block1_conv2", 3, 32, 64) + bn("block1_conv2_bn", 64) + act("block1_conv2_act")
    shortcut, adds = 0, 0

    def add():
        nonlocal adds
        adds += 1
        return act("add_%d" % adds)

    def reduction(block, cin, c1, c2, first_act):
        nonlocal shortcut
        shortcut += 1
        p = "block%d_" % block
        out = act(p + "sepconv1_act") if first_act else []
        out += sep(p + "sepconv1", cin, c1) + bn(p + "sepconv1_bn", c1) + act(p + "sepconv2_act")
        out += sep(p + "sepconv2", c1, c2) + bn(p + "sepconv2_bn", c2)
        out += conv("conv2d_%d" % shortcut, 1, cin, c2) + act(p + "pool") + bn("batch_normalization_%d" % shortcut, c2)
        return out + add()

    L += reduction(2, 64, 128, 128, False) + reduction(3, 128, 256, 256, True) + reduction(4, 256, 728, 728, True)
    for block in range(5, 13):
        p = "block%d_" % block
        for k in (1, 2, 3):
            L += act(p + "sepconv%d_act" % k) + sep(p + "sepconv%d" % k, 728, 728) + bn(p + "sepconv%d_bn" % k, 728)
        L += add()
    L += reduction(13, 728, 728, 1024, True)
    L += sep("block14_sepconv1", 1024, 1536) + bn("block14_sepconv1_bn", 1536) + act("block14_sepconv1_act")
    L += sep("block14_sepconv2", 1536, 2048) + bn("block14_sepconv2_bn", 2048) + act("block14_sepconv2_act")
    return L


def contiguous(shape):
    return {}


def gzip_shuffle(shape):  # several chunks per dataset where the shape allows
    chunks = tuple(max(1, (d + 1) // 2) for d in shape)
    return {"chunks": chunks, "compression": "gzip", "compression_opts": 4, "shuffle": True}


def main():
    if sys.argv[1] == "--xception":
        outdir = sys.argv[2]
        rng = np.random.default_rng(8)
        with h5py.File(os.path.join(outdir, "xception.h5"), "w") as f:
            f.attrs["backend"] = b"tensorflow"
            f.attrs["keras_version"] = b"2.0.8"
            entries = write(f, xception_layers(), rng, contiguous)
        manifest = {"xception.h5": {"layout": "save_weights", "keras_version": "2.0.8", "backend": "tensorflow",
                                    "layers": entries}}
        with open(os.path.join(outdir, "manifest.json"), "w") as f:
            json.dump(manifest, f)
        return
    outdir = sys.argv[1]
    manifest = {}

    def weights_file(name, layers, opts=contiguous, seed=1, attr_limit=HEADER_LIMIT, libver=None,
                     vlen=False, missing=None):
        path = os.path.join(outdir, name)
        rng = np.random.default_rng(seed)
        with h5py.File(path, "w", libver=libver) as f:
            if vlen:  # str attributes become variable-length strings
                f.attrs["backend"] = "tensorflow"
                f.attrs["keras_version"] = "2.4.0"
            else:  # Keras 2 writes bytes: fixed-length strings
                f.attrs["backend"] = b"tensorflow"
                f.attrs["keras_version"] = b"2.4.0"
            entries = write(f, layers, rng, opts, attr_limit, missing)
        manifest[name] = {"layout": "save_weights", "keras_version": "2.4.0", "backend": "tensorflow",
                          "layers": entries}

    weights_file("small_weights.h5", SMALL)
    weights_file("small_gzip.h5", SMALL, opts=gzip_shuffle, seed=2)
    weights_file("nested.h5", NESTED, seed=3, vlen=True)
    weights_file("separable.h5", SEPARABLE, seed=4)
    weights_file("chunked_attrs.h5", SMALL, seed=5, attr_limit=40)
    weights_file("missing_weight.h5", SMALL, seed=6, missing="dense/bias:0")

    # Full-model layout, as model.save("x.h5") writes it.
    path = os.path.join(outdir, "small_model.h5")
    rng = np.random.default_rng(7)
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.4.0"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential"}).encode("utf8")
        mw = f.create_group("model_weights")
        mw.attrs["keras_version"] = b"2.4.0"
        mw.attrs["backend"] = b"tensorflow"
        entries = write(mw, SMALL, rng, contiguous)
        ow = f.create_group("optimizer_weights")
        ow.attrs["weight_names"] = np.asarray([b"Adam/iter:0"])
        ow.create_group("Adam").create_dataset("iter:0", data=np.int64(10))
    manifest["small_model.h5"] = {"layout": "model", "keras_version": "2.4.0", "backend": "tensorflow",
                                  "layers": entries}

    # An HDF5 file that is not a Keras weights file.
    with h5py.File(os.path.join(outdir, "not_keras.h5"), "w") as f:
        f.create_dataset("x", data=np.arange(4, dtype=np.float32))

    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
