#!/usr/bin/python3
"""Independent PyTorch reference: Keras backbones computed straight from a Keras HDF5 weight file.

Usage: /usr/bin/python3 keras_h5_torch.py MODEL WEIGHTS.h5 INPUT.bin N C H W OUT.bin

MODEL is xception (keras.applications.Xception, include_top=False) or squeezenet (SqueezeNet v1.1 as the
Keras port rcmalli/keras-squeezenet builds it, include_top=False). WEIGHTS.h5 is read with h5py in Keras'
save_weights layout (root attribute layer_names, per-layer weight_names). INPUT.bin holds the already
preprocessed N×C×H×W batch as little-endian float32; OUT.bin receives the features (Xception's
block14_sepconv2_act, SqueezeNet's fire9/concat) as little-endian float64, NCHW, computed in float64 in
inference mode.

Nothing here comes from fovea: Keras' HWIO kernels are converted to PyTorch's OIHW by this script,
TensorFlow's SAME padding (asymmetric, the extra pixel after, when the total is odd) is spelled out with
F.pad, and BatchNormalization is written out as Keras computes it in inference:
gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta, epsilon 1e-3.
"""
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

KERAS_BN_EPSILON = 1e-3


def read_keras_weights(path):
    """Returns [(layer name, {weight kind: float64 numpy array in Keras' layout})] in file order."""
    def names(attrs, key):
        if key in attrs:
            raw = list(attrs[key])
        else:  # Keras splits long attributes into key0, key1, ...
            raw, i = [], 0
            while "%s%d" % (key, i) in attrs:
                raw += list(attrs["%s%d" % (key, i)])
                i += 1
        return [n.decode("utf8") if isinstance(n, bytes) else str(n) for n in raw]

    out = []
    with h5py.File(path, "r") as f:
        root = f["model_weights"] if "model_weights" in f else f
        for lname in names(root.attrs, "layer_names"):
            g = root[lname]
            weights = {}
            for wname in names(g.attrs, "weight_names"):
                kind = wname.rsplit("/", 1)[-1].split(":")[0]
                weights[kind] = np.asarray(g[wname], dtype=np.float64)
            out.append((lname, weights))
    return out


def tf_same_pad(x, kh, kw, stride, value=0.0):
    """Pads NCHW x as TensorFlow's SAME padding does for a kh×kw window: out = ceil(in / stride), the
    total padding max((out − 1)·stride + k − in, 0) split with the smaller half before."""
    def split(size, k):
        out = -(-size // stride)
        total = max((out - 1) * stride + k - size, 0)
        return total // 2, total - total // 2

    top, bottom = split(x.shape[2], kh)
    left, right = split(x.shape[3], kw)
    return F.pad(x, (left, right, top, bottom), value=value)


def oihw(kernel):
    """Keras Conv2D kernel (kh, kw, in, out) to PyTorch's (out, in, kh, kw)."""
    return torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))


def conv(x, w, stride=1, padding="valid"):
    """Keras Conv2D: kernel (and bias when present) from w."""
    k = w["kernel"]
    if padding == "same":
        x = tf_same_pad(x, k.shape[0], k.shape[1], stride)
    bias = torch.from_numpy(w["bias"]) if "bias" in w else None
    return F.conv2d(x, oihw(k), bias, stride=stride)


def separable(x, w):
    """Keras SeparableConv2D 3×3, stride 1, SAME, depth multiplier 1, no bias: a depthwise convolution
    (kernel (kh, kw, in, 1): channel c filtered by [:, :, c, 0]) then a 1×1 convolution."""
    dw = w["depthwise_kernel"]
    kh, kw, cin, mult = dw.shape
    assert mult == 1, "Xception's separable convolutions have depth multiplier 1"
    depthwise = torch.from_numpy(np.ascontiguousarray(dw[:, :, :, 0].transpose(2, 0, 1)))[:, None]
    x = F.conv2d(tf_same_pad(x, kh, kw, 1), depthwise, groups=cin)
    return F.conv2d(x, oihw(w["pointwise_kernel"]))


def batchnorm(x, w):
    """Keras BatchNormalization in inference mode (moving statistics), on the channel axis."""
    def per_channel(kind):
        return torch.from_numpy(w[kind]).reshape(1, -1, 1, 1)

    scale = per_channel("gamma") / torch.sqrt(per_channel("moving_variance") + KERAS_BN_EPSILON)
    return (x - per_channel("moving_mean")) * scale + per_channel("beta")


def max_pool_same(x):
    """MaxPooling2D 3×3, stride 2, SAME: padded positions never win."""
    return F.max_pool2d(tf_same_pad(x, 3, 3, 2, value=-np.inf), 3, 2)


def xception(layers, x):
    by_name = dict(layers)
    # The four shortcut branches are the layers Keras names automatically (conv2d_1 … in Keras 2.0,
    # conv2d, conv2d_1 … in tf.keras): take them in file order, which is the model's.
    shortcut_convs = [w for n, w in layers if not n.startswith("block") and "kernel" in w]
    shortcut_bns = [w for n, w in layers if not n.startswith("block") and "moving_variance" in w]
    assert len(shortcut_convs) == 4 and len(shortcut_bns) == 4, "expected 4 shortcut Conv2D and 4 BatchNormalization layers"

    def sep_bn(x, name):
        return batchnorm(separable(x, by_name[name]), by_name[name + "_bn"])

    x = F.relu(batchnorm(conv(x, by_name["block1_conv1"], stride=2), by_name["block1_conv1_bn"]))
    x = F.relu(batchnorm(conv(x, by_name["block1_conv2"]), by_name["block1_conv2_bn"]))
    # Entry flow (blocks 2–4) and block 13: separable convolutions, max pooling and a strided 1×1 shortcut.
    reductions = [(2, False), (3, True), (4, True)]
    for i, (block, act_first) in enumerate(reductions):
        residual = batchnorm(conv(x, shortcut_convs[i], stride=2, padding="same"), shortcut_bns[i])
        if act_first:
            x = F.relu(x)
        x = sep_bn(x, "block%d_sepconv1" % block)
        x = sep_bn(F.relu(x), "block%d_sepconv2" % block)
        x = max_pool_same(x) + residual
    # Middle flow: blocks 5–12, three ReLU → SeparableConv → BN each, identity shortcut.
    for block in range(5, 13):
        residual = x
        for k in (1, 2, 3):
            x = sep_bn(F.relu(x), "block%d_sepconv%d" % (block, k))
        x = x + residual
    residual = batchnorm(conv(x, shortcut_convs[3], stride=2, padding="same"), shortcut_bns[3])
    x = sep_bn(F.relu(x), "block13_sepconv1")
    x = sep_bn(F.relu(x), "block13_sepconv2")
    x = max_pool_same(x) + residual
    # Exit flow.
    x = F.relu(sep_bn(x, "block14_sepconv1"))
    return F.relu(sep_bn(x, "block14_sepconv2"))


def squeezenet(layers, x):
    by_name = dict(layers)
    x = F.relu(conv(x, by_name["conv1"], stride=2))
    x = F.max_pool2d(x, 3, 2)  # pool1, VALID
    for fire in range(2, 10):
        p = "fire%d/" % fire
        s = F.relu(conv(x, by_name[p + "squeeze1x1"]))
        left = F.relu(conv(s, by_name[p + "expand1x1"]))
        right = F.relu(conv(s, by_name[p + "expand3x3"], padding="same"))
        x = torch.cat([left, right], dim=1)
        if fire in (3, 5):
            x = F.max_pool2d(x, 3, 2)  # pool3, pool5, VALID
    return x


def main():
    if len(sys.argv) != 9:
        sys.exit(__doc__)
    model, weights, inp = sys.argv[1], sys.argv[2], sys.argv[3]
    shape = [int(v) for v in sys.argv[4:8]]
    out = sys.argv[8]
    net = {"xception": xception, "squeezenet": squeezenet}[model]
    layers = [(n, w) for n, w in read_keras_weights(weights) if w]
    x = torch.from_numpy(np.fromfile(inp, dtype="<f4").astype(np.float64).reshape(shape))
    torch.set_num_threads(1)
    with torch.no_grad():
        y = net(layers, x)
    y.numpy().astype("<f8").tofile(out)
    print("%s: features %s, max |y| %.4g" % (model, tuple(y.shape), float(y.abs().max())))


if __name__ == "__main__":
    main()
