#!/usr/bin/env python3
"""PyTorch reference for the speed of fovea's Xception forward pass (224×224×3, inference mode).

The network is Keras' applications/xception.py, written out as torch modules: the entry flow's
VALID convolutions and SAME reductions (TensorFlow's SAME padding, asymmetric for even sizes, spelled
out with F.pad), 8 middle-flow blocks, the exit flow, BatchNorm with epsilon 1e-3, global average
pooling and a 1000-way dense layer, in float32 with random weights.

  bench:  python3 xception.py bench [--batch 8] [--threads 2] [--steps 3] [--repeats 3]
          times forward passes on random data (torch.no_grad, eval mode) and prints images/s as JSON.
"""
import argparse
import json
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def same_pad(x, k, stride, value=0.0):
    """Pads x as TensorFlow's SAME padding does for a k×k window with the given stride."""
    pads = []
    for size in (x.shape[3], x.shape[2]):  # F.pad takes the last axis first
        out = -(-size // stride)
        total = max((out - 1) * stride + k - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads, value=value)


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-3)


class SepConv(nn.Module):
    """Keras SeparableConv2D, 3×3 SAME, no bias, then BatchNorm."""

    def __init__(self, cin, cout):
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn = bn(cout)

    def forward(self, x):
        return self.bn(self.pointwise(self.depthwise(x)))


class Reduction(nn.Module):
    """Blocks 2–4 and 13: two separable convolutions, a 3×3 stride-2 SAME max pool, plus a strided 1×1
    projection of the input."""

    def __init__(self, cin, c1, c2, first_relu):
        super().__init__()
        self.first_relu = first_relu
        self.shortcut = nn.Conv2d(cin, c2, 1, stride=2, bias=False)
        self.shortcut_bn = bn(c2)
        self.sep1, self.sep2 = SepConv(cin, c1), SepConv(c1, c2)

    def forward(self, x):
        residual = self.shortcut_bn(self.shortcut(same_pad(x, 1, 2)))
        if self.first_relu:
            x = F.relu(x)
        x = self.sep2(F.relu(self.sep1(x)))
        return F.max_pool2d(same_pad(x, 3, 2, float("-inf")), 3, 2) + residual


class Middle(nn.Module):
    def __init__(self):
        super().__init__()
        self.seps = nn.ModuleList([SepConv(728, 728) for _ in range(3)])

    def forward(self, x):
        residual = x
        for sep in self.seps:
            x = sep(F.relu(x))
        return x + residual


class Xception(nn.Module):
    def __init__(self, classes=1000):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 32, 3, stride=2, bias=False), bn(32)
        self.conv2, self.bn2 = nn.Conv2d(32, 64, 3, bias=False), bn(64)
        self.entry = nn.ModuleList([Reduction(64, 128, 128, False), Reduction(128, 256, 256, True),
                                    Reduction(256, 728, 728, True)])
        self.middle = nn.ModuleList([Middle() for _ in range(8)])
        self.exit = Reduction(728, 728, 1024, True)
        self.sep3, self.sep4 = SepConv(1024, 1536), SepConv(1536, 2048)
        self.head = nn.Linear(2048, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        for block in list(self.entry) + list(self.middle) + [self.exit]:
            x = block(x)
        x = F.relu(self.sep4(F.relu(self.sep3(x))))
        return self.head(x.mean(dim=(2, 3)))


def bench(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    dev = torch.device(args.device)
    model = Xception().to(dev).eval()
    x = torch.randn(args.batch, 3, 224, 224, device=dev)
    with torch.no_grad():
        for _ in range(args.warmup):
            model(x)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        best = float("inf")
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            for _ in range(args.steps):
                model(x)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - t0)
    params = sum(p.numel() for p in model.parameters())
    print(json.dumps(dict(impl="pytorch", torch=torch.__version__, model="xception", batch=args.batch,
                          threads=args.threads, device=args.device, params=params,
                          images_per_sec=args.steps * args.batch / best, ms_per_step=1000 * best / args.steps,
                          peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    b = sub.add_parser("bench", help="time forward passes")
    b.add_argument("--model", default="xception", choices=["xception"])
    b.add_argument("--batch", type=int, default=8)
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--steps", type=int, default=3)
    b.add_argument("--warmup", type=int, default=1)
    b.add_argument("--repeats", type=int, default=3)
    b.add_argument("--device", default="cpu")
    bench(p.parse_args())


if __name__ == "__main__":
    main()
