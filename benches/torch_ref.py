#!/usr/bin/env python3
"""PyTorch reference timings for one training step of timbrescope's default model.

Usage (from the repository root, with torch installed in .venv as scripts/requirements-ref.txt
says):

    .venv/bin/python benches/torch_ref.py [--threads 2] [--min-steps 20] [--min-secs 10]

The network is the Rust one (src/learn/network/model.rs, src/learn/network/layers.rs) with models/default.toml,
on a batch of 64 seeded random inputs of the real shapes (STFT [64, 62, 128], CQT [64, 62, 190],
uniform in [-1, 1]); benches/learn.rs times the same steps in Candle and benches/compare_torch.py
runs both and prints the table.

  mtl_step_ms          train-mode forward, the weighted multi-task loss, backward, AdamW step.
                       Temporal convolutions as an unfold (shifted copies side by side) and one
                       dense layer, as the Rust code does.
  mtl_step_conv1d_ms   the same with nn.Conv1d for those convolutions (same parameter count).
  ssl_step_ms          both views through their encoders, projection heads, NT-Xent (t = 0.2),
                       backward, AdamW step.
  predict_one_ms       eval-mode forward of one example under no_grad.

Each value: 5 warm-up steps, then the median of steps timed one by one, at least --min-steps
of them and --min-secs seconds (the MTL steps at most 60). stdout: one JSON object;
stderr: progress.
"""

import argparse
import json
import statistics
import sys
import time

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError as exc:
    sys.exit(f"{exc}: install torch into .venv as scripts/requirements-ref.txt says")

BATCH = 64
FRAMES = 62
STFT_BINS = 128
CQT_BINS = 190
WIDTH = 128
BLOCKS = 2
KERNEL = 3
FUSED = 192
RNN_HIDDEN = 96
PROJECTION = 64
DROPOUT = 0.1
CLASSES = {"instrument": 16, "family": 8, "pitch_class": 12, "velocity": 5, "descriptors": 5}
LOSS_WEIGHTS = {"instrument": 1.0, "family": 0.5, "pitch_class": 0.3, "velocity": 0.3, "descriptors": 0.3}
TEMPERATURE = 0.2


def gelu(x: torch.Tensor) -> torch.Tensor:
    # Candle's `gelu` is the tanh approximation.
    return F.gelu(x, approximate="tanh")


def unfold_time(x: torch.Tensor, kernel: int) -> torch.Tensor:
    """[B, T, C] -> [B, T, kernel * C]: frame t beside its neighbours, zeros outside."""
    frames = x.shape[1]
    padded = F.pad(x, (0, 0, kernel // 2, kernel // 2))
    return torch.cat([padded[:, j:j + frames] for j in range(kernel)], dim=2)


def halve_time(x: torch.Tensor) -> torch.Tensor:
    """[B, T, C] -> [B, T // 2, C]: mean of each pair of frames, an odd last frame dropped."""
    b, t, c = x.shape
    half = t // 2
    return x[:, :half * 2].reshape(b, half, 2, c).mean(2)


class ConvBlock(nn.Module):
    def __init__(self, channels: int, kernel: int, conv1d: bool):
        super().__init__()
        self.kernel = kernel
        self.conv1d = conv1d
        if conv1d:
            self.conv = nn.Conv1d(channels, channels, kernel, padding=kernel // 2)
        else:
            self.conv = nn.Linear(kernel * channels, channels)
        self.norm = nn.LayerNorm(channels, eps=1e-5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.conv1d:
            # Conv1d wants channels first; the block works time-major like the rest of the model.
            h = self.conv(x.transpose(1, 2)).transpose(1, 2)
        else:
            h = self.conv(unfold_time(x, self.kernel))
        return halve_time(self.norm(x + gelu(h)))


class Encoder(nn.Module):
    def __init__(self, bins: int, conv1d: bool):
        super().__init__()
        self.input = nn.Linear(bins, WIDTH)
        self.blocks = nn.ModuleList(ConvBlock(WIDTH, KERNEL, conv1d) for _ in range(BLOCKS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = gelu(self.input(x))
        for block in self.blocks:
            h = block(h)
        return h


class Projection(nn.Module):
    def __init__(self, inputs: int, size: int):
        super().__init__()
        self.hidden = nn.Linear(inputs, inputs)
        self.out = nn.Linear(inputs, size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(gelu(self.hidden(x)))


class Model(nn.Module):
    """The CRNN of models/default.toml: two view encoders, fusion, BiGRU, mean+max, five heads."""

    def __init__(self, conv1d: bool = False):
        super().__init__()
        self.stft = Encoder(STFT_BINS, conv1d)
        self.cqt = Encoder(CQT_BINS, conv1d)
        self.fuse = nn.Linear(2 * WIDTH, FUSED)
        self.fuse_norm = nn.LayerNorm(FUSED, eps=1e-5)
        self.gru = nn.GRU(FUSED, RNN_HIDDEN, batch_first=True, bidirectional=True)
        self.heads = nn.ModuleDict({name: nn.Linear(4 * RNN_HIDDEN, n) for name, n in CLASSES.items()})
        self.proj_stft = Projection(WIDTH, PROJECTION)
        self.proj_cqt = Projection(WIDTH, PROJECTION)

    def project_views(self, stft: torch.Tensor, cqt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.proj_stft(self.stft(stft).mean(1)), self.proj_cqt(self.cqt(cqt).mean(1))

    def forward(self, stft: torch.Tensor, cqt: torch.Tensor) -> dict[str, torch.Tensor]:
        fused = torch.cat([self.stft(stft), self.cqt(cqt)], dim=2)
        h, _ = self.gru(self.fuse_norm(gelu(self.fuse(fused))))
        e = torch.cat([h.mean(1), h.amax(1)], dim=1)
        e = F.dropout(e, DROPOUT, self.training)
        return {name: head(e) for name, head in self.heads.items()}


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return -(targets * F.log_softmax(logits, dim=-1)).sum(-1).mean()


def mtl_loss(out: dict[str, torch.Tensor], targets: dict[str, torch.Tensor]) -> torch.Tensor:
    loss = LOSS_WEIGHTS["descriptors"] * F.mse_loss(out["descriptors"], targets["descriptors"])
    for name in ("instrument", "family", "pitch_class", "velocity"):
        loss = loss + LOSS_WEIGHTS[name] * soft_cross_entropy(out[name], targets[name])
    return loss


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR's loss: 2N x 2N cosine similarities, self-pairs masked, positives i <-> i + N."""
    n = a.shape[0]
    z = F.normalize(torch.cat([a, b]), dim=1, eps=1e-12)
    sim = z @ z.T / temperature
    # The same mask as the Rust loss (-1e9 on the diagonal rather than -inf).
    sim = sim - 1e9 * torch.eye(2 * n)
    targets = (torch.arange(2 * n) + n) % (2 * n)
    return F.cross_entropy(sim, targets)


def adamw(model: nn.Module) -> torch.optim.AdamW:
    # The Rust bench: lr 1e-4, weight decay from models/default.toml's [mtl].
    return torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01, betas=(0.9, 0.999), eps=1e-8)


def time_steps(name: str, step, min_steps: int, min_secs: float, max_steps: int | None) -> tuple[float, int]:
    """Median ms of `step` after 5 warm-up calls, and how many calls were timed."""
    for _ in range(5):
        step()
    times = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
        enough = len(times) >= min_steps and time.perf_counter() - start >= min_secs
        if enough or (max_steps is not None and len(times) >= max_steps):
            break
    ms = statistics.median(times) * 1e3
    print(f"{name}: {ms:.2f} ms median of {len(times)}", file=sys.stderr)
    return ms, len(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-steps", type=int, default=20)
    ap.add_argument("--min-secs", type=float, default=10.0)
    args = ap.parse_args()

    # Both before the first op: inter-op threads cannot be changed once work has started.
    torch.set_num_interop_threads(1)
    torch.set_num_threads(args.threads)

    gen = torch.Generator().manual_seed(7)
    stft = torch.rand(BATCH, FRAMES, STFT_BINS, generator=gen) * 2 - 1
    cqt = torch.rand(BATCH, FRAMES, CQT_BINS, generator=gen) * 2 - 1
    targets = {
        name: F.one_hot(torch.randint(0, n, (BATCH,), generator=gen), n).float()
        for name, n in CLASSES.items() if name != "descriptors"
    }
    targets["descriptors"] = torch.rand(BATCH, CLASSES["descriptors"], generator=gen) * 2 - 1

    torch.manual_seed(7)
    model = Model(conv1d=False).train()
    model_conv = Model(conv1d=True).train()
    parameters = sum(p.numel() for p in model.parameters())
    conv_parameters = sum(p.numel() for p in model_conv.parameters())
    assert parameters == conv_parameters, (parameters, conv_parameters)
    opt, opt_conv = adamw(model), adamw(model_conv)

    def mtl_step(m: Model, o: torch.optim.Optimizer):
        loss = mtl_loss(m(stft, cqt), targets)
        loss.backward()
        o.step()
        o.zero_grad(set_to_none=True)

    def ssl_step():
        zs, zc = model.project_views(stft, cqt)
        loss = nt_xent(zs, zc, TEMPERATURE)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    one_stft, one_cqt = stft[:1], cqt[:1]

    def predict_one():
        with torch.no_grad():
            model(one_stft, one_cqt)

    steps = {}
    common = dict(min_steps=args.min_steps, min_secs=args.min_secs)
    mtl_ms, steps["mtl_step"] = time_steps("mtl_step", lambda: mtl_step(model, opt), max_steps=60, **common)
    conv_ms, steps["mtl_step_conv1d"] = time_steps("mtl_step_conv1d", lambda: mtl_step(model_conv, opt_conv),
                                                   max_steps=60, **common)
    ssl_ms, steps["ssl_step"] = time_steps("ssl_step", ssl_step, max_steps=None, **common)
    model.eval()
    predict_ms, steps["predict_one"] = time_steps("predict_one", predict_one, max_steps=None, **common)

    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "batch": BATCH,
        "parameters": parameters,
        "mtl_step_ms": mtl_ms,
        "mtl_step_conv1d_ms": conv_ms,
        "ssl_step_ms": ssl_ms,
        "predict_one_ms": predict_ms,
        "mtl_samples_per_sec": BATCH / (mtl_ms / 1e3),
        "mtl_conv1d_samples_per_sec": BATCH / (conv_ms / 1e3),
        "ssl_samples_per_sec": BATCH / (ssl_ms / 1e3),
        "timed_steps": steps,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
