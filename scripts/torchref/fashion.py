#!/usr/bin/env python3
"""PyTorch reference for fovea's Fashion-MNIST models (Géron's CNN and the FCN).

It is the independent implementation fovea is compared against: the same architecture and Keras-style
initialisation (Glorot uniform kernels, zero biases), the book's per-pixel standardisation and validation
split, and the same recipe options as scripts/fashion-cnn. Two modes:

  train:  python3 fashion.py train --data DIR [--model cnn|fcn] [--epochs 10] [--batch 32] ...
  bench:  python3 fashion.py bench [--model cnn] [--batch 32] [--threads 2] [--steps 30]
          times training steps (forward, backward, optimizer) on random data and prints images/s.
"""
import argparse
import gzip
import json
import math
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(data_dir):
    d = os.path.join(data_dir, "fashion-mnist")
    xtr = read_idx(os.path.join(d, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255.0
    ytr = read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    xte = read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255.0
    yte = read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    xtr, xva, ytr, yva = xtr[:-5000], xtr[-5000:], ytr[:-5000], ytr[-5000:]
    mean, std = xtr.mean(axis=0, keepdims=True), xtr.std(axis=0, keepdims=True) + 1e-7
    norm = lambda x: ((x - mean) / std)[:, None, :, :]
    return (norm(xtr), ytr), (norm(xva), yva), (norm(xte), yte), (mean, std)


class CNN(nn.Module):
    """Géron, Hands-On ML ch. 14: 1,413,834 parameters."""

    def __init__(self):
        super().__init__()
        c = lambda i, o, k: nn.Conv2d(i, o, k, padding="same")
        self.features = nn.Sequential(
            c(1, 64, 7), nn.ReLU(), nn.MaxPool2d(2),
            c(64, 128, 3), nn.ReLU(), c(128, 128, 3), nn.ReLU(), nn.MaxPool2d(2),
            c(128, 256, 3), nn.ReLU(), c(256, 256, 3), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(2304, 128), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(128, 64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, 10))

    def forward(self, x):
        return self.head(self.features(x))


def tf_same_pad(size, k, s):
    """TensorFlow SAME padding (before, after) for one axis: the extra pixel goes after."""
    out = (size + s - 1) // s
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


class SameConv(nn.Conv2d):
    """Conv2d with TensorFlow's SAME padding (asymmetric for even inputs with stride 2), no bias."""

    def __init__(self, cin, cout, k, stride=1):
        super().__init__(cin, cout, k, stride=stride, bias=False)

    def forward(self, x):
        (t, b), (l, r) = tf_same_pad(x.shape[2], self.kernel_size[0], self.stride[0]), tf_same_pad(x.shape[3], self.kernel_size[1], self.stride[1])
        return super().forward(F.pad(x, (l, r, t, b)))


def keras_bn(c):
    # Keras BatchNormalization(momentum=0.99, epsilon=1e-3) is PyTorch's momentum 0.01.
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class ResidualUnit(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.main = nn.Sequential(SameConv(cin, cout, 3, stride), keras_bn(cout), nn.ReLU(),
                                  SameConv(cout, cout, 3), keras_bn(cout))
        self.skip = nn.Sequential(SameConv(cin, cout, 1, stride), keras_bn(cout)) if stride > 1 else nn.Identity()

    def forward(self, x):
        return F.relu(self.main(x) + self.skip(x))


class ResNet34(nn.Module):
    """Géron's Keras ResNet-34 for 1-channel 28×28 input."""

    def __init__(self, cin=1, classes=10):
        super().__init__()
        self.stem = nn.Sequential(SameConv(cin, 64, 7, 2), keras_bn(64), nn.ReLU())
        units, prev = [], 64
        for filters in [64] * 3 + [128] * 4 + [256] * 6 + [512] * 3:
            units.append(ResidualUnit(prev, filters, 1 if filters == prev else 2))
            prev = filters
        self.units = nn.Sequential(*units)
        self.head = nn.Linear(512, classes)

    def forward(self, x):
        x = self.stem(x)
        (t, b), (l, r) = tf_same_pad(x.shape[2], 3, 2), tf_same_pad(x.shape[3], 3, 2)
        x = F.max_pool2d(F.pad(x, (l, r, t, b), value=float("-inf")), 3, 2)
        x = self.units(x)
        return self.head(x.mean(dim=(2, 3)))


class FCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 300), nn.ReLU(),
                                 nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10))

    def forward(self, x):
        return self.net(x)


def keras_init(model, init):
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            if m.bias is None:
                nn.init.xavier_uniform_(m.weight)
                continue
            if init == "he_normal":
                fan_in = m.weight[0].numel()
                std = math.sqrt(2.0 / fan_in) / 0.87962566103423978
                nn.init.trunc_normal_(m.weight, std=std, a=-2 * std, b=2 * std)
            else:
                nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)


def make_model(name, init="glorot_uniform"):
    model = {"cnn": CNN, "fcn": FCN, "resnet34": ResNet34}[name]()
    keras_init(model, init)
    return model


def make_optimizer(name, params, lr):
    if name == "nadam":
        return torch.optim.NAdam(params, lr=lr, eps=1e-7)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, eps=1e-7)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)
    raise SystemExit(f"unknown optimizer {name}")


def lr_at(args, step, total):
    if args.schedule == "constant":
        return args.lr
    warm = args.warmup_epochs * total / args.epochs
    if step < warm:
        return args.lr * (step + 1) / warm
    p = (step - warm) / max(1, total - warm)
    if args.schedule == "cosine":
        return args.lr * 0.5 * (1 + math.cos(math.pi * p))
    if args.schedule == "linear":
        return args.lr * (1 - p)
    raise SystemExit(f"unknown schedule {args.schedule}")


def augment(x, shift, flip, gen):
    """Random integer translation by up to shift pixels per axis (zero fill) and horizontal flips."""
    n, dev = x.shape[0], x.device
    if shift > 0:
        d = torch.randint(-shift, shift + 1, (n, 2), generator=gen).float()
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0] = theta[:, 1, 1] = 1
        theta[:, 0, 2] = 2 * d[:, 0] / x.shape[3]
        theta[:, 1, 2] = 2 * d[:, 1] / x.shape[2]
        grid = F.affine_grid(theta.to(dev), list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    if flip:
        m = torch.rand(n, generator=gen) < 0.5
        x = torch.where(m.to(dev)[:, None, None, None], x.flip(3), x)
    return x


def evaluate(model, x, y, dev, batch=1000, tta_flip=False):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.from_numpy(x[i:i + batch]).to(dev)
            yb = torch.from_numpy(y[i:i + batch]).to(dev)
            out = model(xb)
            if tta_flip:
                # Average the class probabilities of the image and its mirror image.
                p = 0.5 * (F.softmax(out, 1) + F.softmax(model(xb.flip(3)), 1))
                out = torch.log(p)
            loss += F.cross_entropy(out, yb, reduction="sum").item()
            correct += (out.argmax(1) == yb).sum().item()
    return loss / len(x), correct / len(x)


def train(args):
    torch.manual_seed(args.seed)
    dev = torch.device(args.device)
    (xtr, ytr), (xva, yva), (xte, yte), (mean, std) = load(args.data)
    if args.subset > 0:
        xtr, ytr, xva, yva, xte, yte = xtr[:args.subset], ytr[:args.subset], xva[:500], yva[:500], xte[:500], yte[:500]
    # Raw-zero background after standardisation, used to fill shifted-in pixels.
    model = make_model(args.model, args.init).to(dev)
    opt = make_optimizer(args.optimizer, model.parameters(), args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    n = len(xtr)
    steps_per_epoch = math.ceil(n / args.batch)
    total = steps_per_epoch * args.epochs
    xtr_t, ytr_t = torch.from_numpy(xtr).to(dev), torch.from_numpy(ytr).to(dev)
    bg = torch.from_numpy(((0 - mean) / std)[None].astype(np.float32)).to(dev)  # (1,1,28,28)
    step, hist = 0, []
    ema = [q.detach().clone() for q in model.parameters()] if args.ema > 0 else None

    def swap():
        if ema is not None:
            for e, q in zip(ema, model.parameters()):
                tmp = q.detach().clone()
                q.data.copy_(e)
                e.copy_(tmp)
    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(n, generator=gen).to(dev)
        tl, tc = 0.0, 0
        for i in range(0, n, args.batch):
            idx = perm[i:i + args.batch]
            xb, yb = xtr_t[idx], ytr_t[idx]
            if args.shift or args.flip:
                xb = augment(xb - bg, args.shift, args.flip, gen) + bg
            for g in opt.param_groups:
                g["lr"] = lr_at(args, step, total)
            out = model(xb)
            loss = F.cross_entropy(out, yb, label_smoothing=args.smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if ema is not None:
                with torch.no_grad():
                    for e, q in zip(ema, model.parameters()):
                        e.mul_(args.ema).add_(q, alpha=1 - args.ema)
            step += 1
            tl += loss.item() * len(idx)
            tc += (out.argmax(1) == yb).sum().item()
        swap()
        vl, va = evaluate(model, xva, yva, dev, tta_flip=args.tta_flip)
        swap()
        rec = dict(epoch=epoch + 1, loss=tl / n, acc=tc / n, val_loss=vl, val_acc=va, seconds=time.time() - t0)
        hist.append(rec)
        print(json.dumps(rec), flush=True)
    swap()
    tl, ta = evaluate(model, xte, yte, dev, tta_flip=args.tta_flip)
    result = dict(args=vars(args), test_loss=tl, test_acc=ta, seconds=time.time() - t0, history=hist)
    print(json.dumps(dict(test_acc=ta, test_loss=tl, seconds=time.time() - t0, config=vars(args))), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)


def bench(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    dev = torch.device(args.device)
    if args.precision != "default":
        torch.backends.cudnn.allow_tf32 = args.precision == "tf32"
        torch.backends.cuda.matmul.allow_tf32 = args.precision == "tf32"
    model = make_model(args.model).to(dev)
    opt = make_optimizer("nadam", model.parameters(), 1e-3)
    x = torch.randn(args.batch, 1, 28, 28, device=dev)
    y = torch.randint(0, 10, (args.batch,), device=dev)

    def step():
        out = model(x)
        loss = F.cross_entropy(out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    for _ in range(args.warmup):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    best = float("inf")
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        for _ in range(args.steps):
            step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    ips = args.steps * args.batch / best
    print(json.dumps(dict(impl="pytorch", torch=torch.__version__, model=args.model, batch=args.batch,
                          threads=args.threads, device=args.device, images_per_sec=ips,
                          conv_tf32=torch.backends.cudnn.allow_tf32,
                          matmul_tf32=torch.backends.cuda.matmul.allow_tf32,
                          ms_per_step=1000 * best / args.steps,
                          peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    t = sub.add_parser("train", help="train and evaluate")
    t.add_argument("--data", required=True, help="folder holding fashion-mnist/")
    t.add_argument("--model", default="cnn", choices=["cnn", "fcn", "resnet34"])
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--optimizer", default="nadam")
    t.add_argument("--schedule", default="constant", choices=["constant", "cosine", "linear"])
    t.add_argument("--warmup-epochs", type=float, default=0)
    t.add_argument("--smoothing", type=float, default=0)
    t.add_argument("--shift", type=int, default=0)
    t.add_argument("--flip", action="store_true")
    t.add_argument("--init", default="glorot_uniform", choices=["glorot_uniform", "he_normal"])
    t.add_argument("--ema", type=float, default=0, help="evaluate an exponential moving average of the weights")
    t.add_argument("--tta-flip", action="store_true", help="average predictions over the image and its mirror")
    t.add_argument("--subset", type=int, default=0, help="train on the first N images only (smoke tests)")
    t.add_argument("--seed", type=int, default=42)
    t.add_argument("--device", default="cpu")
    t.add_argument("--out", default="")
    b = sub.add_parser("bench", help="time training steps")
    b.add_argument("--model", default="cnn", choices=["cnn", "fcn", "resnet34"])
    b.add_argument("--batch", type=int, default=32)
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--steps", type=int, default=20)
    b.add_argument("--warmup", type=int, default=5)
    b.add_argument("--repeats", type=int, default=3)
    b.add_argument("--device", default="cpu")
    b.add_argument("--precision", default="default", choices=["default", "fp32", "tf32"],
                   help="GPU math: PyTorch's defaults, IEEE FP32 everywhere, or TF32 tensor cores for "
                        "convolutions and matmuls")
    args = p.parse_args()
    train(args) if args.mode == "train" else bench(args)


if __name__ == "__main__":
    main()
