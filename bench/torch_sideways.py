#!/usr/bin/python3
"""PyTorch reference of the Sideways rule, for the agreement test (test/torch-sideways.test.ts).

Runs --steps plain-SGD steps of Sideways exactly as docs/design/sideways.md states it, tick by
tick, with PyTorch's autograd for every block's vector-Jacobian product: an implementation that
shares nothing with ours but the model file's layer semantics (bench/torch_peer.py builds the
modules) and the rule's text. At tick t every block computes from what tick t-1 left: block 1
gets frame t, block k >= 2 the output block k-1 produced at t-1; the top block takes the loss of
its own output (mean softmax cross-entropy over the B clips) and its gradient at once; block k
below the top takes the input gradient block k+1 produced at t-1; a block with an input and a
gradient runs its backward on that input, adds its parameter gradient to its sum and sends its
input gradient down for t+1. After tick T: p <- p - lr * (sum_k / n_k) for blocks with n_k > 0.
Blocks: a conv2d, linear or residual layer starts one; every other layer joins the block before
it (layers before the first starter join the first block).

Batch norm normalises the B rows of one frame, as every forward here holds one frame of B clips,
and updates its running statistics once per forward, in tick order (= frame order per block).

Input: --model, --init (safetensors), --clips [B, T, C, H, W] float32 .npy, --labels [B] .npy, all
clips one batch. Output: --weights-out (safetensors of every parameter and buffer after the
steps, but num_batches_tracked) and --out (JSON: losses per tick that had one, n_k per block, each
num_batches_tracked).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_peer import PeerError, build_model, load_init, write_safetensors  # noqa: E402

BLOCK_STARTERS = {"conv2d", "linear", "residual"}


def block_modules(model, layer_specs):
    """The model's layers grouped into blocks (docs/design/sideways.md, "Model, blocks, graphs")."""
    blocks = []
    for module, spec in zip(model, layer_specs):
        if spec["type"] in BLOCK_STARTERS and blocks and any(s["type"] in BLOCK_STARTERS for s in blocks[-1][1]):
            blocks.append(([], []))
        if not blocks:
            blocks.append(([], []))
        blocks[-1][0].append(module)
        blocks[-1][1].append(spec)
    return [torch.nn.Sequential(*mods) for mods, _ in blocks]


def sideways_step(blocks, clips, labels, lr):
    """One clip batch of Sideways and its SGD step; returns (losses, n_k per block)."""
    L = len(blocks)
    T = clips.shape[1]
    params = [list(b.parameters()) for b in blocks]
    sums = [[torch.zeros_like(p) for p in ps] for ps in params]
    counts = [0] * L
    losses = []
    out_prev = [None] * L  # out_k of tick t-1
    down_prev = [None] * L  # block k's input gradient of tick t-1 (for block k-1)
    for t in range(T):
        out_now = [None] * L
        down_now = [None] * L
        for k in range(L):
            inp = clips[:, t] if k == 0 else out_prev[k - 1]
            if inp is None:
                continue
            inp = inp.detach().requires_grad_(k > 0)
            out = blocks[k](inp)
            out_now[k] = out.detach()
            if k == L - 1:
                loss = torch.nn.functional.cross_entropy(out, labels)
                losses.append(loss.item())
                target, grad_out = loss, None
            elif down_prev[k + 1] is not None:
                target, grad_out = out, down_prev[k + 1]
            else:
                continue
            wrt = params[k] + ([inp] if k > 0 else [])
            grads = torch.autograd.grad(target, wrt, grad_outputs=grad_out)
            for s, g in zip(sums[k], grads):
                s.add_(g)
            counts[k] += 1
            if k > 0:
                down_now[k] = grads[-1]
        out_prev, down_prev = out_now, down_now
    with torch.no_grad():
        for ps, ss, n in zip(params, sums, counts):
            if n > 0:
                for p, s in zip(ps, ss):
                    p.sub_(lr * s / n)
    return losses, counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--init", required=True)
    parser.add_argument("--clips", required=True)
    parser.add_argument("--labels", required=True)
    parser.add_argument("--lr", type=float, required=True)
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--weights-out", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        torch.set_num_threads(1)
        model, _ = build_model(args.model)
        load_init(model, args.init)
        with open(args.model) as f:
            layer_specs = yaml.safe_load(f)["layers"]
        blocks = block_modules(model, layer_specs)
        clips = torch.from_numpy(np.load(args.clips).astype(np.float32))
        labels = torch.from_numpy(np.load(args.labels).astype(np.int64))
        model.train()
        losses, counts = [], []
        for _ in range(args.steps):
            step_losses, counts = sideways_step(blocks, clips, labels, args.lr)
            losses += step_losses
        state = model.state_dict()
        # num_batches_tracked (int64) goes to the JSON: write_safetensors writes float32 tensors.
        write_safetensors(args.weights_out, {k: v.detach().numpy() for k, v in state.items() if v.dtype == torch.float32})
        tracked = {k: int(v) for k, v in state.items() if v.dtype != torch.float32}
        with open(args.out, "w") as f:
            json.dump({"losses": losses, "counts": counts, "blocks": len(blocks), "num_batches_tracked": tracked,
                       "torch_version": torch.__version__}, f)
    except PeerError as e:
        print(f"torch_sideways: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
