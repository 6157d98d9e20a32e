"""The PyTorch module a model file describes, written from docs/design/conventions.md alone (plain
torch.nn layers, nothing of ours): torch.nn.Sequential with one module per layer, a residual unit
as a module holding an nn.Sequential `layers` and a `shortcut`: a 1x1 conv, or an nn.Sequential
of the shortcut's layers. Used by
test/zoo-torch.test.ts:

  torch_module.py MODEL.yaml CHECKPOINT.safetensors FRAMES.f32 N OUT.json

writes {"state": {name: [shape, dtype]}, "params": count, "buffers": count, "logits": [...]}:
the module's state_dict layout, then the checkpoint loaded with load_state_dict(strict=True) and
the float64 eval-mode forward of the N frames (raw little-endian float32 [N, C, H, W]).
The checkpoint is parsed by hand (the safetensors package may be missing): an unsigned 64-bit
little-endian header length, a JSON header, then the raw tensors.
"""
import json
import struct
import sys

import numpy as np
import torch
import yaml


class GlobalAvgPool(torch.nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))


class Residual(torch.nn.Module):
    def __init__(self, layers, shortcut):
        super().__init__()
        self.layers = torch.nn.Sequential(*layers)
        if shortcut is not None:
            self.shortcut = shortcut
        self.identity = shortcut is None

    def forward(self, x):
        return self.layers(x) + (x if self.identity else self.shortcut(x))


def pooled(size, k, s, p):
    return (size + 2 * p - k) // s + 1


def build_layer(spec, shape):
    """(module, output shape) of one layer on an input of `shape` ([C, H, W] or [F])."""
    kind = spec["type"]
    if kind == "conv2d":
        c, h, w = shape
        k, s, p = spec["kernel"], spec.get("stride", 1), spec.get("padding", 0)
        conv = torch.nn.Conv2d(c, spec["out_channels"], k, stride=s, padding=p, bias=spec.get("bias", True))
        return conv, [spec["out_channels"], pooled(h, k, s, p), pooled(w, k, s, p)]
    if kind in ("maxpool2d", "avgpool2d"):
        c, h, w = shape
        k = spec["kernel"]
        s, p = spec.get("stride") or k, spec.get("padding", 0)
        pool = (torch.nn.MaxPool2d if kind == "maxpool2d" else torch.nn.AvgPool2d)(k, stride=s, padding=p)
        return pool, [c, pooled(h, k, s, p), pooled(w, k, s, p)]
    if kind == "batch_norm":
        return torch.nn.BatchNorm2d(shape[0], eps=spec.get("eps", 1e-5), momentum=spec.get("momentum", 0.1)), shape
    if kind == "group_norm":
        return torch.nn.GroupNorm(spec["groups"], shape[0], eps=spec.get("eps", 1e-5)), shape
    if kind == "relu":
        return torch.nn.ReLU(), shape
    if kind == "leaky_relu":
        return torch.nn.LeakyReLU(spec.get("slope", 0.01)), shape
    if kind == "silu":
        return torch.nn.SiLU(), shape
    if kind == "gelu":
        return torch.nn.GELU(approximate=spec.get("approximate") or "none"), shape
    if kind == "global_avg_pool":
        return GlobalAvgPool(), shape[:1]
    if kind == "flatten":
        return torch.nn.Flatten(), [int(np.prod(shape))]
    if kind == "linear":
        return torch.nn.Linear(shape[0], spec["out_features"], bias=spec.get("bias", True)), [spec["out_features"]]
    if kind == "residual":
        inner, out, stride = [], shape, 1
        for s in spec["layers"]:
            module, out = build_layer(s, out)
            inner.append(module)
            if s["type"] == "conv2d":
                stride *= s.get("stride", 1)
            elif s["type"] in ("maxpool2d", "avgpool2d"):
                stride *= s.get("stride") or s["kernel"]
        kind = spec.get("shortcut", "identity")
        shortcut = None
        if kind == "conv":
            shortcut = torch.nn.Conv2d(shape[0], out[0], 1, stride=stride)
        elif isinstance(kind, list):
            modules, short = [], shape
            for s in kind:
                module, short = build_layer(s, short)
                modules.append(module)
            assert short == out, f"the shortcut outputs {short}, the inner layers {out}"
            shortcut = torch.nn.Sequential(*modules)
        return Residual(inner, shortcut), out
    raise ValueError(f"unknown layer type {kind}")


def build(spec):
    shape = [spec["input"]["channels"], spec["input"]["height"], spec["input"]["width"]]
    modules = []
    for s in spec["layers"]:
        module, shape = build_layer(s, shape)
        modules.append(module)
    return torch.nn.Sequential(*modules), shape


DTYPES = {"F32": "<f4", "F64": "<f8", "I64": "<i8"}
TORCH_DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def read_safetensors(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header.pop("__metadata__", None)
    body = data[8 + n :]
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(body[begin:end], DTYPES[info["dtype"]]).reshape(info["shape"]).copy())
    return out


def main():
    model_file, checkpoint, frames_file, n, out_file = sys.argv[1:6]
    with open(model_file) as f:
        spec = yaml.safe_load(f)
    model, out_shape = build(spec)
    assert out_shape == [spec["classes"]], f"the module outputs {out_shape}, expected [{spec['classes']}]"
    state = {k: [list(v.shape), TORCH_DTYPES[v.dtype]] for k, v in model.state_dict().items()}
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for b in model.buffers())
    model.load_state_dict(read_safetensors(checkpoint), strict=True)
    c, h, w = spec["input"]["channels"], spec["input"]["height"], spec["input"]["width"]
    frames = np.fromfile(frames_file, "<f4").reshape(int(n), c, h, w)
    model.eval().double()
    with torch.no_grad():
        logits = model(torch.from_numpy(frames).double()).numpy()
    with open(out_file, "w") as f:
        json.dump({"state": state, "params": params, "buffers": buffers, "logits": logits.reshape(-1).tolist()}, f)


if __name__ == "__main__":
    main()
