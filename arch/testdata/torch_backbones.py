#!/usr/bin/env python3
"""Independent PyTorch reference for fovea's Xception and SqueezeNet backbones (float64, autograd).

Usage: torch_backbones.py DIR. DIR/case.json names the model and lists the tensors stored, in order, as
little-endian float64 in DIR/tensors.bin: every parameter under its Keras-style name (kernels OIHW,
depthwise kernels (C, 1, K, K)), the input batch "input" and the upstream gradient "upstream". The
script writes to DIR/out.bin, as float64: the features in inference mode (BatchNorm with the moving
statistics), then, for each name in case["grads"], the gradient of sum(features * upstream) with respect
to that parameter in training mode (BatchNorm with the batch's statistics).

The networks are written from Keras' applications/xception.py and the rcmalli/keras-squeezenet layout.
TensorFlow's SAME padding, asymmetric when the total is odd (the extra pixel after), is spelled out with
F.pad, since PyTorch's own padding is symmetric.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

BN_EPS = 1e-3  # Keras' BatchNormalization default, which Xception keeps


def same_pad(x, k, stride, value=0.0):
    """Pads x as TensorFlow's SAME padding does for a k×k window with the given stride."""
    pads = []
    for size in (x.shape[3], x.shape[2]):  # F.pad takes the last axis first
        out = -(-size // stride)
        total = max((out - 1) * stride + k - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads, value=value)


class Net:
    def __init__(self, params, train):
        self.p, self.train = params, train

    def conv(self, x, name, stride=1, same=False, bias=False):
        w = self.p[name + "/kernel"]
        if same:
            x = same_pad(x, w.shape[2], stride)
        return F.conv2d(x, w, self.p[name + "/bias"] if bias else None, stride=stride)

    def bn(self, x, name):
        g, b = self.p[name + "/gamma"], self.p[name + "/beta"]
        if self.train:
            return F.batch_norm(x, None, None, g, b, training=True, eps=BN_EPS)
        mean, var = self.p[name + "/moving_mean"], self.p[name + "/moving_variance"]
        return F.batch_norm(x, mean, var, g, b, training=False, eps=BN_EPS)

    def sepconv(self, x, name):
        """Keras SeparableConv2D, 3×3 SAME, no bias: a depthwise (groups = C) then a 1×1 convolution."""
        x = F.conv2d(same_pad(x, 3, 1), self.p[name + "/depthwise_kernel"], groups=x.shape[1])
        return F.conv2d(x, self.p[name + "/pointwise_kernel"])

    def maxpool_same(self, x):
        return F.max_pool2d(same_pad(x, 3, 2, value=float("-inf")), 3, 2)


def xception(net, x):
    x = F.relu(net.bn(net.conv(x, "block1_conv1", stride=2), "block1_conv1_bn"))
    x = F.relu(net.bn(net.conv(x, "block1_conv2"), "block1_conv2_bn"))

    def reduction(x, block, shortcut, first_relu):
        suffix = "" if shortcut == 0 else "_%d" % shortcut
        residual = net.bn(net.conv(x, "conv2d" + suffix, stride=2, same=True), "batch_normalization" + suffix)
        if first_relu:
            x = F.relu(x)
        x = net.bn(net.sepconv(x, "block%d_sepconv1" % block), "block%d_sepconv1_bn" % block)
        x = F.relu(x)
        x = net.bn(net.sepconv(x, "block%d_sepconv2" % block), "block%d_sepconv2_bn" % block)
        return net.maxpool_same(x) + residual

    for i, block in enumerate((2, 3, 4)):
        x = reduction(x, block, i, first_relu=block != 2)
    for block in range(5, 13):
        residual = x
        for k in (1, 2, 3):
            name = "block%d_sepconv%d" % (block, k)
            x = net.bn(net.sepconv(F.relu(x), name), name + "_bn")
        x = x + residual
    x = reduction(x, 13, 3, first_relu=True)
    x = F.relu(net.bn(net.sepconv(x, "block14_sepconv1"), "block14_sepconv1_bn"))
    return F.relu(net.bn(net.sepconv(x, "block14_sepconv2"), "block14_sepconv2_bn"))


def squeezenet(net, x):
    x = F.relu(net.conv(x, "conv1", stride=2, bias=True))
    x = F.max_pool2d(x, 3, 2)
    for n in range(2, 10):
        s = F.relu(net.conv(x, "fire%d/squeeze1x1" % n, bias=True))
        e1 = F.relu(net.conv(s, "fire%d/expand1x1" % n, bias=True))
        e3 = F.relu(net.conv(s, "fire%d/expand3x3" % n, same=True, bias=True))
        x = torch.cat([e1, e3], dim=1)
        if n in (3, 5):
            x = F.max_pool2d(x, 3, 2)
    return x


def main():
    d = sys.argv[1]
    with open(os.path.join(d, "case.json")) as f:
        case = json.load(f)
    raw = np.fromfile(os.path.join(d, "tensors.bin"), dtype="<f8")
    tensors = {}
    for t in case["tensors"]:
        n = int(np.prod(t["shape"])) if t["shape"] else 1
        tensors[t["name"]] = torch.from_numpy(raw[t["offset"]:t["offset"] + n]).reshape(t["shape"])
    model = {"xception": xception, "squeezenet": squeezenet}[case["model"]]
    x, upstream = tensors.pop("input"), tensors.pop("upstream")
    out = []
    with torch.no_grad():
        out.append(model(Net(tensors, train=False), x).reshape(-1))
    wrt = [tensors[name].requires_grad_(True) for name in case["grads"]]
    if wrt:
        y = model(Net(tensors, train=True), x)
        grads = torch.autograd.grad((y * upstream).sum(), wrt)
        out += [g.reshape(-1) for g in grads]
    torch.cat(out).detach().numpy().astype("<f8").tofile(os.path.join(d, "out.bin"))


if __name__ == "__main__":
    main()
