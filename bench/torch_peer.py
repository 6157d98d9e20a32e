#!/usr/bin/python3
"""PyTorch peer of one synchronous-BP training run, for the performance comparison.

Builds torch.nn.Sequential from a model YAML (the layer semantics of
docs/design/conventions.md), loads an init checkpoint (safetensors, parsed here with NumPy),
and runs --steps plain-SGD updates exactly as sideways.md defines BP: for each clip batch
[B, T, C, H, W] the loss is the mean softmax cross-entropy over all B*T frames (= the mean over
t of the batch-mean CE), with every frame labelled with its clip's label; one step
p <- p - lr * grad. All B*T frames go through the network at once (the gradient is the same as
frame by frame).

Batches: clips are taken in file order, B = --batch-size (default: all clips), batch j holds
clips [j*B, (j+1)*B); step s uses batch s mod (N // B) (a last incomplete batch is dropped).
uint8 clips are scaled to [0, 1] as the npy data source does.

Timing: each step (forward, loss, backward, SGD update) is timed with time.perf_counter on the
CPU with torch.set_num_threads(--threads); step_ms lists every step, median_ms is the median
after dropping the first --warmup steps. The recorded loss of a step is the loss before its
update.

Output JSON: {losses, step_ms, median_ms, threads, torch_version, warmup_steps, batch_size,
frames_per_step, steps}. --weights-out writes the updated weights as safetensors, laid out as
safetensors.torch.save_file writes them (tensors sorted by name, compact JSON header padded
with spaces to a multiple of 8).

With --serve the process stays alive and answers one JSON command per line (PeerServer), which
is how `sideways bench --peer torch` interleaves its steps with ours in one run.

Debian's torch lives in /usr/lib/python3/dist-packages: run with /usr/bin/python3
(apt-get install python3-torch python3-numpy python3-yaml).
"""
import argparse
import json
import math
import os
import statistics
import struct
import sys
import time

import numpy as np
import torch
import yaml

# safetensors dtype -> NumPy dtype (little-endian). BF16 has no NumPy dtype and is converted by hand.
NUMPY_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8"}  # I64: num_batches_tracked


class PeerError(Exception):
    """Bad input: reported on stderr with exit status 2."""


class GlobalAvgPool(torch.nn.Module):
    """(N, C, H, W) -> (N, C): the model file's global_avg_pool (no parameters)."""

    def forward(self, x):
        return x.mean(dim=(2, 3))


class FrameBatchNorm2d(torch.nn.BatchNorm2d):
    """The model file's batch_norm: BatchNorm2d (same state_dict, so checkpoints load into a plain
    BatchNorm2d) whose training statistics are taken per frame, over the B clips of that frame.
    Rows come clip-major (row b*T + t, load_batches); `frames` = T is set by set_frames. Running
    statistics get one update per frame, in frame order, with the unbiased variance, as a
    BatchNorm2d fed frame by frame would."""

    frames = 1

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        t = self.frames
        n, c, h, w = x.shape
        # [B*T, C, H, W] clip-major -> [B, T*C, H, W]: channel t*C + c is channel c of frame t.
        xf = x.reshape(n // t, t * c, h, w)
        y = torch.nn.functional.batch_norm(xf, None, None, self.weight.repeat(t), self.bias.repeat(t), training=True, eps=self.eps)
        with torch.no_grad():
            mean = xf.mean(dim=(0, 2, 3)).reshape(t, c)
            var = xf.var(dim=(0, 2, 3), unbiased=True).reshape(t, c)
            for i in range(t):
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean[i])
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var[i])
            self.num_batches_tracked.add_(t)
        return y.reshape(n, c, h, w)


class Residual(torch.nn.Module):
    """The model file's residual unit: layers(x) + shortcut(x), shortcut None (identity), a 1x1
    Conv2d or an nn.Sequential of the shortcut's layers; state_dict names {i}.layers.{j}.* and
    {i}.shortcut.* ({i}.shortcut.{j}.*)."""

    def __init__(self, layers, shortcut):
        super().__init__()
        self.layers = torch.nn.Sequential(*layers)
        self.shortcut = shortcut

    def forward(self, x):
        return self.layers(x) + (x if self.shortcut is None else self.shortcut(x))


class NearTies:
    """The smallest margin, over the steps since reset, of every point where the model's gradient
    jumps: a ReLU input's distance from 0, and a max-pool window's gap between its largest and
    second-largest value (where the window's gradient goes). Each margin is relative to the
    largest |value| of its tensor in that step, the scale of its float32 rounding. A float32 run
    whose rounding exceeds a margin may take the other side of that jump, and its gradient then
    differs from float64's by a whole term: the agreement check (bench-peer.ts) treats a
    disagreement on a batch whose float64 run has a margin below float32's rounding as
    inconclusive and redraws the batch.

    Exact ties are left out: a ReLU input or window gap that is exactly 0 in float64 comes from
    structure (clamped zeros after a ReLU, padding), is exactly 0 in float32 too, and its
    gradient is zero on either side."""

    def __init__(self, model):
        self.handles = []
        for name, m in model.named_modules():
            if isinstance(m, (torch.nn.ReLU, torch.nn.MaxPool2d)):
                self.handles.append(m.register_forward_hook(self.hook(name)))
        self.reset()

    def reset(self):
        self.margin, self.where = math.inf, None

    def hook(self, name):
        def record(module, inputs, output):
            with torch.no_grad():
                x = inputs[0].detach()
                scale = x.abs().max().item()
                if scale == 0:
                    return
                if isinstance(module, torch.nn.ReLU):
                    gaps = x.abs()
                else:
                    gaps = max_pool_gaps(module, x)
                gaps = gaps[gaps > 0]
                if gaps.numel() == 0:
                    return
                m = gaps.min().item() / scale
                if m < self.margin:
                    self.margin, self.where = m, f"{type(module).__name__} {name}"
        return record

    def remove(self):
        for h in self.handles:
            h.remove()


def max_pool_gaps(pool, x):
    """Per window of MaxPool2d `pool` over x [N, C, H, W]: largest minus second-largest value."""
    k = pool.kernel_size if isinstance(pool.kernel_size, tuple) else (pool.kernel_size,) * 2
    s = pool.stride if isinstance(pool.stride, tuple) else (pool.stride,) * 2
    p = pool.padding if isinstance(pool.padding, tuple) else (pool.padding,) * 2
    if k[0] * k[1] < 2:
        return x.new_zeros(0)
    if p[0] or p[1]:
        x = torch.nn.functional.pad(x, (p[1], p[1], p[0], p[0]), value=-math.inf)
    windows = x.unfold(2, k[0], s[0]).unfold(3, k[1], s[1]).reshape(*x.shape[:2], -1, k[0] * k[1])
    top = windows.topk(2, dim=-1).values
    return top[..., 0] - top[..., 1]


def set_frames(model, frames):
    """Tells every FrameBatchNorm2d how many frames each clip's rows hold."""
    for m in model.modules():
        if isinstance(m, FrameBatchNorm2d):
            m.frames = frames


def read_safetensors(path):
    """Returns {name: float32 ndarray} from a safetensors file, checking offsets like the Rust core."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise PeerError(f"{path}: not a valid safetensors file: {len(data)} bytes, expected at least 8")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise PeerError(f"{path}: not a valid safetensors file: header length {n} runs past the end ({len(data)} bytes)")
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PeerError(f"{path}: not a valid safetensors file: bad header ({e})")
    header.pop("__metadata__", None)
    body = data[8 + n :]
    tensors = {}
    expected_begin = 0
    for name, info in sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"])):
        begin, end = info["data_offsets"]
        dtype, shape = info["dtype"], info["shape"]
        count = math.prod(shape)
        if begin != expected_begin or end > len(body):
            raise PeerError(f"{path}: tensor {name!r}: data_offsets [{begin}, {end}] do not follow on at {expected_begin} within {len(body)} data bytes")
        raw = body[begin:end]
        if dtype in NUMPY_DTYPES:
            values = np.frombuffer(raw, dtype=NUMPY_DTYPES[dtype])
        elif dtype == "BF16":
            values = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view("<f4")
        else:
            raise PeerError(f"{path}: tensor {name!r} has dtype {dtype}, expected F32 (or F16/BF16/F64)")
        if values.size != count:
            raise PeerError(f"{path}: tensor {name!r}: {values.size} values, expected {count} for shape {shape}")
        tensors[name] = values.astype(np.float32).reshape(shape)
        expected_begin = end
    if expected_begin != len(body):
        raise PeerError(f"{path}: data section has {len(body)} bytes but the tensors cover {expected_begin}")
    return tensors


def write_safetensors(path, tensors):
    """Writes {name: float32 ndarray} as safetensors.torch.save_file would (no metadata), atomically."""
    names = sorted(tensors, key=lambda s: s.encode("utf-8"))
    entries, offset = [], 0
    for name in names:
        nbytes = tensors[name].size * 4
        info = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + nbytes]}
        entries.append(json.dumps(name, ensure_ascii=False) + ":" + json.dumps(info, separators=(",", ":")))
        offset += nbytes
    header = ("{" + ",".join(entries) + "}").encode("utf-8")
    header += b" " * ((8 - len(header) % 8) % 8)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(header)))
        f.write(header)
        for name in names:
            f.write(np.ascontiguousarray(tensors[name], dtype="<f4").tobytes())
    os.replace(tmp, path)


def build_model(path):
    """(torch.nn.Sequential with one module per model-file layer, so state_dict names match ours;
    the input frame shape [C, H, W])."""
    with open(path) as f:
        spec = yaml.safe_load(f)
    try:
        inp = spec["input"]
        x = torch.zeros(1, inp["channels"], inp["height"], inp["width"])
        layers_spec, classes = spec["layers"], spec["classes"]
    except (KeyError, TypeError) as e:
        raise PeerError(f"{path}: expected keys input.{{channels,height,width}}, classes, layers ({e!r} missing)")
    modules = []
    for index, layer in enumerate(layers_spec):
        module, x = build_layer(path, f"layer {index}", layer, x)
        modules.append(module)
    if list(x.shape[1:]) != [classes]:
        raise PeerError(f"{path}: the last layer gives {list(x.shape[1:])}, expected [{classes}] (classes)")
    return torch.nn.Sequential(*modules), [inp["channels"], inp["height"], inp["width"]]


def sync(device):
    """Waits for the GPU's queued work, so that a step's time includes it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def layer_stride(layer):
    kind = layer.get("type")
    if kind == "conv2d":
        return layer.get("stride", 1)
    if kind in ("maxpool2d", "avgpool2d"):
        return layer.get("stride", layer["kernel"])
    return 1


def build_layer(path, where, layer, x):
    """(the module of one model-file layer, its output for the example input x)."""
    kind = layer.get("type")
    if kind == "conv2d":
        if x.dim() != 4:
            raise PeerError(f"{path}: {where} (conv2d) needs a [C, H, W] input, found {list(x.shape[1:])}")
        module = torch.nn.Conv2d(x.shape[1], layer["out_channels"], layer["kernel"], stride=layer.get("stride", 1),
                                 padding=layer.get("padding", 0), bias=layer.get("bias", True))
    elif kind == "relu":
        module = torch.nn.ReLU()
    elif kind == "leaky_relu":
        module = torch.nn.LeakyReLU(layer.get("slope", 0.01))
    elif kind == "silu":
        module = torch.nn.SiLU()
    elif kind == "gelu":
        approximate = layer.get("approximate") or "none"
        if approximate not in ("none", "tanh"):
            raise PeerError(f"{path}: {where} (gelu): approximate {approximate!r}, expected none or tanh")
        module = torch.nn.GELU(approximate=approximate)
    elif kind in ("maxpool2d", "avgpool2d"):
        pool = torch.nn.MaxPool2d if kind == "maxpool2d" else torch.nn.AvgPool2d  # AvgPool2d: count_include_pad=True
        module = pool(layer["kernel"], stride=layer.get("stride", layer["kernel"]), padding=layer.get("padding", 0))
    elif kind == "global_avg_pool":
        module = GlobalAvgPool()
    elif kind == "flatten":
        module = torch.nn.Flatten()
    elif kind == "linear":
        if x.dim() != 2:
            raise PeerError(f"{path}: {where} (linear) needs a flat input, found {list(x.shape[1:])}")
        module = torch.nn.Linear(x.shape[1], layer["out_features"], bias=layer.get("bias", True))
    elif kind == "batch_norm":
        module = FrameBatchNorm2d(x.shape[1], eps=layer.get("eps", 1e-5), momentum=layer.get("momentum", 0.1))
    elif kind == "group_norm":
        module = torch.nn.GroupNorm(layer["groups"], x.shape[1], eps=layer.get("eps", 1e-5))
    elif kind == "residual":
        inner, h = [], x
        for j, sub in enumerate(layer["layers"]):
            m, h = build_layer(path, f"{where} inner layer {j}", sub, h)
            inner.append(m)
        shortcut = None
        kind = layer.get("shortcut", "identity")
        if kind == "conv":
            stride = math.prod(layer_stride(sub) for sub in layer["layers"])
            shortcut = torch.nn.Conv2d(x.shape[1], h.shape[1], 1, stride=stride)
        elif isinstance(kind, list):
            modules, s = [], x
            for j, sub in enumerate(kind):
                m, s = build_layer(path, f"{where} shortcut layer {j}", sub, s)
                modules.append(m)
            shortcut = torch.nn.Sequential(*modules)
        module = Residual(inner, shortcut)
    else:
        raise PeerError(f"{path}: {where}: unknown type {kind!r}, expected one of conv2d, relu, leaky_relu, silu, gelu, "
                        "maxpool2d, avgpool2d, global_avg_pool, flatten, linear, batch_norm, group_norm, residual")
    with torch.no_grad():
        module.eval()  # the example input is one row: no batch statistics
        x = module(x)
        module.train()
    return module, x


def load_init(model, path):
    tensors = read_safetensors(path)
    own = model.state_dict()
    problems = [f"missing tensor {k!r} {list(v.shape)}" for k, v in own.items() if k not in tensors]
    problems += [f"unexpected tensor {k!r} {list(v.shape)}" for k, v in tensors.items() if k not in own]
    problems += [f"tensor {k!r} has shape {list(tensors[k].shape)}, expected {list(v.shape)}"
                 for k, v in own.items() if k in tensors and tuple(tensors[k].shape) != tuple(v.shape)]
    if problems:
        raise PeerError(f"checkpoint {path} does not fit the model: " + "; ".join(problems))
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()})  # copies onto the model's device


def load_batches(clips_path, labels_path, batch_size, model_input):
    clips = np.load(clips_path)
    labels = np.load(labels_path)
    if clips.ndim != 5:
        raise PeerError(f"{clips_path}: clips have shape {list(clips.shape)}, expected [N, T, C, H, W]")
    if clips.dtype == np.uint8:
        clips = clips.astype(np.float32) / 255.0
    elif clips.dtype != np.float32:
        raise PeerError(f"{clips_path}: clips have dtype {clips.dtype}, expected float32 or uint8")
    if list(clips.shape[2:]) != model_input:
        raise PeerError(f"{clips_path}: frames are {list(clips.shape[2:])}, the model expects {model_input}")
    if labels.shape != (clips.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise PeerError(f"{labels_path}: labels have shape {list(labels.shape)} and dtype {labels.dtype}, "
                        f"expected integers shaped [{clips.shape[0]}]")
    n, t = clips.shape[:2]
    b = batch_size or n
    if b > n:
        raise PeerError(f"--batch-size {b} exceeds the {n} clips in {clips_path}")
    batches = []
    for j in range(n // b):
        x = torch.from_numpy(np.ascontiguousarray(clips[j * b : (j + 1) * b]).reshape(b * t, *clips.shape[2:]))
        y = torch.from_numpy(labels[j * b : (j + 1) * b].astype(np.int64)).repeat_interleave(t)
        batches.append((x, y))
    return batches, b, b * t


class PeerServer:
    """--serve: one JSON command per stdin line, one JSON reply per stdout line, so a benchmark can
    interleave single timed steps of this process with its own (bench-peer.ts). Commands:
      {"cmd": "reset", "dtype": D}            weights back to --init (in float32, or float64), a fresh SGD optimizer
      {"cmd": "threads", "n": N}              torch.set_num_threads(N)
      {"cmd": "step", "n": N}                 N steps (default 1) on the next batches, one timed window
                                              -> {"ms": .., "loss": last, "losses": [..], "window_ns": [start, end]}
      {"cmd": "weights", "path": P}           the current weights as safetensors at P -> {"ok": true}
      {"cmd": "data", "clips": C, "labels": L}  other clips and labels (.npy), weights back to --init in float32
      {"cmd": "near_ties"}                    after float64 steps: their smallest near-tie margin (NearTies)
                                              -> {"margin": m or null (no ReLU or max-pool), "where": module}
      {"cmd": "quit"}
    Step timing is the same as in the one-shot mode (perf_counter around one whole step). A step's
    reply also gives its window on CLOCK_MONOTONIC (time.monotonic_ns, "window_ns": [start, end]
    as strings), for reading a CUDA trace taken of the process (bench-peer.ts SIDEWAYS_PEER_MARKS)."""

    def __init__(self, args):
        self.device = torch.device(args.device)
        # --upload-each-step: the clips stay in host memory and each timed step moves its batch to
        # the device, as a training loop fed by a data loader does (and as our side does).
        self.upload_each_step = args.upload_each_step
        # --upload-pixels (with --upload-each-step): the clips are 8-bit pixels scaled by 1/255; each
        # step moves the pixels and makes them float32 on the device (a float32 multiply by
        # float32(1/255), the values of the float clips exactly), as our side does with 8-bit clips.
        self.upload_pixels = args.upload_pixels
        if self.upload_pixels and not self.upload_each_step:
            raise PeerError("--upload-pixels needs --upload-each-step")
        self.pixel_scale = torch.tensor(1.0 / 255.0, dtype=torch.float32)
        self.dtype = torch.float32
        self.model, model_input = build_model(args.model)
        self.model.to(self.device)
        self.init, self.lr = args.init, args.lr
        self.model_input, self.batch_size_arg = model_input, args.batch_size
        self.load_data(args.clips, args.labels)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.near_ties = None
        self.reset()

    def load_data(self, clips, labels):
        batches, self.batch_size, self.frames = load_batches(clips, labels, self.batch_size_arg, self.model_input)
        if self.upload_pixels:
            batches = [(self.as_pixels(x), y) for x, y in batches]
        self.batches = batches if self.upload_each_step else [(x.to(self.device), y.to(self.device)) for x, y in batches]
        set_frames(self.model, self.frames // self.batch_size)

    def as_pixels(self, x):
        """float32 clips that are 8-bit pixels times float32(1/255), as those uint8 pixels."""
        pixels = torch.round(x.to(torch.float64) * 255.0).clamp(0, 255).to(torch.uint8)
        if not torch.equal(pixels.to(torch.float32) * self.pixel_scale, x):
            raise PeerError("--upload-pixels: the clips are not 8-bit pixels times float32(1/255)")
        return pixels

    def reset(self, dtype="float32"):
        """Weights back to --init in `dtype` (float64: the reference the agreement check compares both
        float32 sides with), a fresh SGD optimizer."""
        if dtype not in ("float32", "float64"):
            raise PeerError(f"reset: dtype {dtype!r}, expected float32 or float64")
        dt = getattr(torch, dtype)
        self.model.to(dt)  # floating-point parameters and buffers only; counters stay int64
        load_init(self.model, self.init)
        self.dtype = dt
        self.inputs = [(x if self.upload_pixels else x.to(dt), y) for x, y in self.batches]
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=self.lr)
        self.step_index = 0
        # The float64 run (the agreement check's reference) records its near-ties; timed runs do not.
        if self.near_ties is not None:
            self.near_ties.remove()
        self.near_ties = NearTies(self.model) if dtype == "float64" else None

    def step(self, n=1):
        """`n` steps back to back on the next batches, timed as one window: the device is synchronised
        before the first and after the last only, as a training loop that reads its losses afterwards
        does (bench-peer.ts --steps-per-call, where our side takes `n` steps in one call)."""
        if n < 1:
            raise PeerError(f"step: n must be at least 1, got {n}")
        batches = [self.inputs[(self.step_index + i) % len(self.inputs)] for i in range(n)]
        self.step_index += n
        sync(self.device)
        mark = time.monotonic_ns()
        start = time.perf_counter()
        if self.upload_each_step:
            # The window's batches go to the device at its start, as our side sends a call's K
            # batches with the call: a copy from pageable memory waits for the stream, so moving
            # each batch before its own step would synchronise every step.
            batches = [(x.to(self.device), y.to(self.device)) for x, y in batches]
        losses = []
        for x, y in batches:
            if self.upload_pixels:
                x = (x.to(torch.float32) * self.pixel_scale.to(self.device)).to(self.dtype)
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.loss_fn(self.model(x), y)
            loss.backward()
            self.optimizer.step()
            losses.append(loss.detach())
        sync(self.device)
        ms = (time.perf_counter() - start) * 1000.0
        window = [str(mark), str(time.monotonic_ns())]
        return {"ms": ms, "loss": losses[-1].item(), "losses": [l.item() for l in losses], "window_ns": window}

    def handle(self, command):
        kind = command.get("cmd")
        if kind == "reset":
            self.reset(command.get("dtype", "float32"))
            return {"ok": True}
        if kind == "threads":
            torch.set_num_threads(int(command["n"]))
            return {"ok": True, "threads": torch.get_num_threads()}
        if kind == "step":
            return self.step(int(command.get("n", 1)))
        if kind == "data":
            self.load_data(command["clips"], command["labels"])
            self.reset()
            return {"ok": True, "batch_size": self.batch_size, "frames_per_step": self.frames}
        if kind == "near_ties":
            if self.near_ties is None:
                raise PeerError("near_ties: only a float64 run (reset with dtype float64) records them")
            return {"margin": self.near_ties.margin if math.isfinite(self.near_ties.margin) else None, "where": self.near_ties.where}
        if kind == "weights":
            write_safetensors(command["path"], {k: v.detach().cpu().numpy() for k, v in self.model.state_dict().items()})
            return {"ok": True}
        raise PeerError(f"unknown command {command!r}, expected cmd reset, threads, step, weights or quit")

    def serve(self, stdin, stdout):
        name = torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "cpu"
        reply = {"ok": True, "torch_version": torch.__version__, "batch_size": self.batch_size, "frames_per_step": self.frames, "device": name, "upload_each_step": self.upload_each_step, "upload_pixels": self.upload_pixels}
        stdout.write(json.dumps(reply) + "\n")
        stdout.flush()
        for line in stdin:
            command = json.loads(line)
            if command.get("cmd") == "quit":
                return
            stdout.write(json.dumps(self.handle(command)) + "\n")
            stdout.flush()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="model YAML (models/*.yaml)")
    parser.add_argument("--init", required=True, help="initial weights, safetensors with PyTorch names")
    parser.add_argument("--clips", required=True, help="float32 or uint8 .npy shaped [N, T, C, H, W]")
    parser.add_argument("--labels", required=True, help="integer .npy shaped [N]")
    parser.add_argument("--steps", type=int, help="SGD updates to run (required without --serve)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument("--lr", type=float, required=True, help="plain SGD learning rate")
    parser.add_argument("--out", help="result JSON (required without --serve)")
    parser.add_argument("--serve", action="store_true", help="answer JSON commands on stdin (PeerServer) instead of running --steps")
    parser.add_argument("--weights-out", help="write the updated weights here (safetensors)")
    parser.add_argument("--batch-size", type=int, default=0, help="clips per step (default: all clips)")
    parser.add_argument("--warmup", type=int, default=1, help="first steps left out of median_ms (default 1)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="torch device (--serve only; default cpu)")
    parser.add_argument("--upload-each-step", action="store_true", help="--serve: keep the clips in host memory and move each step's batch to the device inside the timed step")
    parser.add_argument("--upload-pixels", action="store_true", help="--serve with --upload-each-step: keep the clips as their 8-bit pixels and make them float32 on the device")
    args = parser.parse_args(argv)
    if args.device == "cuda":
        if not torch.cuda.is_available():
            raise PeerError("--device cuda: torch sees no CUDA device")
        # Plain float32, as our side runs with NVIDIA_TF32_OVERRIDE=0 (docs/GPU.md): TF32 would
        # put both sides' gradients ~1e-3 from float64 and break the agreement check. cuDNN picks
        # its fastest algorithms for the fixed shapes, as onnxruntime's exhaustive search does.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
    if args.threads < 1:
        raise PeerError(f"--threads {args.threads} must be at least 1")
    torch.set_num_threads(args.threads)
    if args.serve:
        PeerServer(args).serve(sys.stdin, sys.stdout)
        return
    if args.steps is None or args.out is None:
        raise PeerError("--steps and --out are required unless --serve is given")
    if args.steps <= args.warmup:
        raise PeerError(f"--steps {args.steps} must exceed --warmup {args.warmup} to leave steps to time")

    model, model_input = build_model(args.model)
    load_init(model, args.init)
    batches, batch_size, frames = load_batches(args.clips, args.labels, args.batch_size, model_input)
    set_frames(model, frames // batch_size)

    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    loss_fn = torch.nn.CrossEntropyLoss()  # mean over the B*T frames
    losses, step_ms = [], []
    for step in range(args.steps):
        x, y = batches[step % len(batches)]
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        step_ms.append((time.perf_counter() - start) * 1000.0)
        losses.append(loss.item())

    result = {
        "losses": losses,
        "step_ms": step_ms,
        "median_ms": statistics.median(step_ms[args.warmup :]),
        "threads": args.threads,
        "torch_version": torch.__version__,
        "warmup_steps": args.warmup,
        "batch_size": batch_size,
        "frames_per_step": frames,
        "steps": args.steps,
    }
    tmp = f"{args.out}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    os.replace(tmp, args.out)
    if args.weights_out:
        write_safetensors(args.weights_out, {k: v.detach().numpy() for k, v in model.state_dict().items()})


if __name__ == "__main__":
    try:
        main()
    except PeerError as e:
        print(f"torch_peer: {e}", file=sys.stderr)
        sys.exit(2)
