"""torch.optim and torch.optim.lr_scheduler on given gradients, written from PyTorch's documented
classes alone (nothing of ours): the reference of test/optim-torch.test.ts.

  torch_optim.py < JOB.json > OUT.json

JOB: {"cases": [{"optimizer": {kind, lr, betas, eps, weight_decay, momentum, nesterov},
                 "schedule": {kind, warmup_steps, gamma, milestones, end_lr},
                 "initial": [float32 values], "grads": [[float32 values] per step]}]}
OUT: {"cases": [{"lrs": [the param group's lr at each optimizer.step()],
                 "params": [[the float32 parameter after each step]]}]}

The warm-up is LinearLR(start_factor=1/W, end_factor=1, total_iters=W-1) (base * (s + 1) / W at
update s < W), followed by the schedule proper in SequentialLR(milestones=[W]); without a warm-up
the schedule proper alone. The schedule is stepped once after every optimizer.step(), as PyTorch's
documentation prescribes.
"""
import json
import sys
import warnings

import torch


def make_optimizer(spec, params):
    kind = spec["kind"]
    if kind == "sgd":
        return torch.optim.SGD(params, lr=spec["lr"], momentum=spec["momentum"], nesterov=spec["nesterov"], weight_decay=spec["weight_decay"])
    if kind == "adam":
        return torch.optim.Adam(params, lr=spec["lr"], betas=tuple(spec["betas"]), eps=spec["eps"], weight_decay=spec["weight_decay"], amsgrad=False)
    if kind == "adamw":
        return torch.optim.AdamW(params, lr=spec["lr"], betas=tuple(spec["betas"]), eps=spec["eps"], weight_decay=spec["weight_decay"], amsgrad=False)
    raise ValueError(kind)


def main_schedule(spec, optimizer, base_lr, after_warmup):
    kind = spec["kind"]
    S = torch.optim.lr_scheduler
    if kind == "constant":
        return S.ConstantLR(optimizer, factor=1.0, total_iters=0)
    if kind == "multistep":
        return S.MultiStepLR(optimizer, milestones=spec["milestones"], gamma=spec["gamma"])
    if kind == "linear":
        return S.LinearLR(optimizer, start_factor=1.0, end_factor=spec["end_lr"] / base_lr, total_iters=after_warmup)
    if kind == "step":
        return S.StepLR(optimizer, step_size=spec["step_size"], gamma=spec["gamma"])
    if kind == "cosine":
        return S.CosineAnnealingLR(optimizer, T_max=after_warmup, eta_min=spec["min_lr"])
    raise ValueError(kind)


def run_case(case):
    p = torch.tensor(case["initial"], dtype=torch.float32, requires_grad=True)
    spec = case["optimizer"]
    optimizer = make_optimizer(spec, [p])
    grads = case["grads"]
    warmup = case["schedule"]["warmup_steps"]
    S = torch.optim.lr_scheduler
    if warmup > 0:
        warm = S.LinearLR(optimizer, start_factor=1.0 / warmup, end_factor=1.0, total_iters=max(warmup - 1, 0))
        proper = main_schedule(case["schedule"], optimizer, spec["lr"], len(grads) - warmup)
        scheduler = S.SequentialLR(optimizer, schedulers=[warm, proper], milestones=[warmup])
    else:
        scheduler = main_schedule(case["schedule"], optimizer, spec["lr"], len(grads))
    lrs, params = [], []
    for g in grads:
        lrs.append(optimizer.param_groups[0]["lr"])
        p.grad = torch.tensor(g, dtype=torch.float32)
        optimizer.step()
        scheduler.step()
        params.append([float(v) for v in p.detach()])
    return {"lrs": lrs, "params": params}


def main():
    # SequentialLR steps the schedule proper with an epoch at its milestone (closed form), which
    # torch 1.13 warns of as deprecated: its own doing, not the caller's.
    warnings.filterwarnings("ignore", message="The epoch parameter")
    job = json.load(sys.stdin)
    json.dump({"cases": [run_case(c) for c in job["cases"]]}, sys.stdout)


if __name__ == "__main__":
    main()
