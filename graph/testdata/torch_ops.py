#!/usr/bin/env python3
"""Independent PyTorch reference for fovea's op tests (float64, autograd).

Reads a JSON list of cases on stdin and writes, for each case, the forward output and the gradients of
sum(output * gy) with respect to every differentiable input. TensorFlow's SAME padding is spelled out
as explicit (top, bottom, left, right) padding, since PyTorch's own "same" pads differently.
"""
import json
import sys

import torch
import torch.nn.functional as F


def tensor(case, key):
    return torch.tensor(case[key], dtype=torch.float64).reshape(case[key + "_shape"]).requires_grad_(True)


def run(case):
    op = case["op"]
    t, b, l, r = case.get("pad", [0, 0, 0, 0])
    ins = {}
    if op == "conv2d":
        x, w = ins["x"], ins["w"] = tensor(case, "x"), tensor(case, "w")
        y = F.conv2d(F.pad(x, (l, r, t, b)), w, stride=case["stride"])
    elif op == "depthwise_conv2d":
        # A grouped convolution with one group per input channel; stride may be [sh, sw].
        x, w = ins["x"], ins["w"] = tensor(case, "x"), tensor(case, "w")
        s = case["stride"]
        y = F.conv2d(F.pad(x, (l, r, t, b)), w, stride=tuple(s) if isinstance(s, list) else s, groups=x.shape[1])
    elif op == "concat":
        xs = [tensor(case, name) for name in case["inputs"]]
        ins.update(zip(case["inputs"], xs))
        y = torch.cat(xs, dim=case["axis"])
    elif op == "maxpool2d":
        x = ins["x"] = tensor(case, "x")
        y = F.max_pool2d(F.pad(x, (l, r, t, b), value=float("-inf")), case["k"], case["stride"])
    elif op == "avgpool2d":
        # TensorFlow averages over the pixels inside the image only.
        x = ins["x"] = tensor(case, "x")
        k, s = case["k"], case["stride"]
        total = F.avg_pool2d(F.pad(x, (l, r, t, b)), k, s, divisor_override=1)
        count = F.avg_pool2d(F.pad(torch.ones_like(x), (l, r, t, b)), k, s, divisor_override=1)
        y = total / count
    elif op == "batchnorm_train":
        x, gamma, beta = ins["x"], ins["gamma"], ins["beta"] = tensor(case, "x"), tensor(case, "gamma"), tensor(case, "beta")
        y = F.batch_norm(x, None, None, weight=gamma, bias=beta, training=True, eps=case["eps"])
    elif op == "batchnorm_infer":
        x, gamma, beta = ins["x"], ins["gamma"], ins["beta"] = tensor(case, "x"), tensor(case, "gamma"), tensor(case, "beta")
        mean, var = tensor(case, "mean").detach(), tensor(case, "var").detach()
        y = F.batch_norm(x, mean, var, weight=gamma, bias=beta, training=False, eps=case["eps"])
    elif op == "global_avgpool":
        x = ins["x"] = tensor(case, "x")
        y = x.mean(dim=(2, 3))
    elif op == "dense":
        x, w, bias = ins["x"], ins["w"], ins["b"] = tensor(case, "x"), tensor(case, "w"), tensor(case, "b")
        y = x @ w + bias
    elif op == "softmax_cross_entropy":
        z = ins["x"] = tensor(case, "x")
        labels = torch.tensor(case["labels"], dtype=torch.long)
        y = F.cross_entropy(z, labels, label_smoothing=case.get("smoothing", 0.0))
    else:
        raise SystemExit(f"unknown op {op}")
    gy = torch.tensor(case["gy"], dtype=torch.float64).reshape(y.shape)
    (y * gy).sum().backward()
    out = {"y": y.detach().reshape(-1).tolist()}
    for name, v in ins.items():
        out["g" + name] = v.grad.reshape(-1).tolist()
    return out


def main():
    cases = json.load(sys.stdin)
    json.dump([run(c) for c in cases], sys.stdout)


if __name__ == "__main__":
    main()
