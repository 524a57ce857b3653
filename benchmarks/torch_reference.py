#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The PyTorch side of gantry's training-iteration benchmark: the same generator iterations in PyTorch.

Same architecture (2 -> w -> w -> w -> 2 generator, 2 -> w -> w -> w -> 1 critic, ReLU), batch 256,
nn.Linear's default initialization (gantry's InitScheme::torch_default), Adam(1e-4, betas (0.5, 0.9)),
8-gaussians data and N(0, I) noise of dimension 2, n_critic 5 for the alternating presets, one simultaneous
step for Consensus; penalties by autograd with create_graph=True, as PyTorch users write them (WGAN-GP's
critic on real, fake and interpolates as three calls, as gan_toy.py does: faster than one concatenated batch).

Prints one JSON object: iterations per second (best of --repetitions timed windows), CPU seconds per iteration
(all threads, best window), peak resident memory (ru_maxrss, whole process) and the resident memory before the
networks were built, and the threads used.

Threading: set before torch is imported. --blas-threads sets OPENBLAS_NUM_THREADS / OMP for OpenBLAS (the
BLAS Debian's torch calls for nn.Linear); --threads is torch.set_num_threads (intra-op threads for the
element-wise kernels). On a 2-core machine, 1 intra-op thread with a 2-thread BLAS was fastest (see
docs/PERFORMANCE.md, "PyTorch's threading").
"""

import argparse
import json
import math
import os
import resource
import sys
import time

PRESETS = ["Vanilla", "NonSaturating", "WganClip", "WganGp", "ZeroCenteredGp", "Consensus"]


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=PRESETS, default="WganGp")
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--n-critic", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each timed window")
    parser.add_argument("--repetitions", type=int, default=3, help="timed windows; the best is reported")
    parser.add_argument("--warmup", type=int, default=3, help="untimed iterations first")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (intra-op)")
    parser.add_argument("--blas-threads", type=int, default=2, help="OpenBLAS threads (GEMM)")
    parser.add_argument("--concatenated-penalty-batch", action="store_true",
                        help="WganGp: run [real, fake, interpolates] through the critic as one batch instead of "
                             "three calls (gan_toy.py's way, measured faster: the double backward then only "
                             "runs through the interpolates' graph)")
    return parser.parse_args()


def main():
    args = parse_arguments()
    # Must precede the import: OpenBLAS reads these once when loaded.
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.blas_threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch  # noqa: E402  (after the thread settings on purpose)

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rss_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    width, batch = args.width, args.batch

    def mlp(inputs, outputs):
        return torch.nn.Sequential(
            torch.nn.Linear(inputs, width), torch.nn.ReLU(),
            torch.nn.Linear(width, width), torch.nn.ReLU(),
            torch.nn.Linear(width, width), torch.nn.ReLU(),
            torch.nn.Linear(width, outputs))

    generator, critic = mlp(2, 2), mlp(2, 1)
    adam = dict(lr=1e-4, betas=(0.5, 0.9))
    critic_optimizer = torch.optim.Adam(critic.parameters(), **adam)
    generator_optimizer = torch.optim.Adam(generator.parameters(), **adam)
    critic_parameters = list(critic.parameters())
    generator_parameters = list(generator.parameters())
    softplus = torch.nn.functional.softplus

    # 8 gaussians of gan_toy.py: radius 2, stddev 0.02, divided by 1.414.
    angles = torch.arange(8, dtype=torch.float32) * (math.pi / 4)
    centers = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1) * 2.0

    def real_batch():
        modes = torch.randint(0, 8, (batch,))
        return (centers[modes] + 0.02 * torch.randn(batch, 2)) / 1.414

    def noise():
        return torch.randn(batch, 2)

    preset = args.preset

    def critic_loss(real, fake):
        if preset in ("WganClip", "WganGp"):
            return critic(fake).mean() - critic(real).mean()
        # minimax and non-saturating share the critic's loss: -log sigmoid(D(x)) - log(1 - sigmoid(D(G(z))))
        return softplus(-critic(real)).mean() + softplus(critic(fake)).mean()

    def generator_loss(fake_logits):
        if preset in ("WganClip", "WganGp"):
            return -fake_logits.mean()
        if preset == "Vanilla":
            return -softplus(fake_logits).mean()  # log(1 - sigmoid(a)) = -softplus(a)
        return softplus(-fake_logits).mean()

    def critic_step():
        real = real_batch()
        with torch.no_grad():
            fake = generator(noise())
        if preset == "WganGp":
            eps = torch.rand(batch, 1)
            interpolates = (eps * real + (1 - eps) * fake).requires_grad_(True)
            if args.concatenated_penalty_batch:
                logits = critic(torch.cat([real, fake, interpolates]))
                loss = logits[batch:2 * batch].mean() - logits[:batch].mean()
                interpolate_logits = logits[2 * batch:]
            else:
                loss = critic(fake).mean() - critic(real).mean()
                interpolate_logits = critic(interpolates)
            (g,) = torch.autograd.grad(interpolate_logits.sum(), interpolates, create_graph=True)
            loss = loss + 10.0 * ((g.norm(dim=1) - 1) ** 2).mean()
        elif preset == "ZeroCenteredGp":
            real.requires_grad_(True)
            real_logits = critic(real)
            (g,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
            loss = softplus(-real_logits).mean() + softplus(critic(fake)).mean()
            loss = loss + 5.0 * g.pow(2).sum(dim=1).mean()  # gamma / 2 with gamma = 10 (R1)
        else:
            loss = critic_loss(real, fake)
        critic_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        critic_optimizer.step()
        if preset == "WganClip":
            with torch.no_grad():
                for p in critic_parameters:
                    p.clamp_(-0.01, 0.01)

    def generator_step():
        real_batch()  # gantry draws a full batch for every step; keep the random streams' work alike
        for p in critic_parameters:
            p.requires_grad_(False)  # no critic parameter gradients during a generator step
        loss = generator_loss(critic(generator(noise())))
        generator_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        generator_optimizer.step()
        for p in critic_parameters:
            p.requires_grad_(True)

    def consensus_iteration():
        # Mescheder et al. 2017: both players at one batch, v = (grad_D L_D, grad_G L_G), R = 1/2 |v|^2,
        # each player minimizes its loss + gamma R; one double-backward gives grad R for both.
        real = real_batch()
        fake = generator(noise())
        fake_logits = critic(fake)
        d_loss = softplus(-critic(real)).mean() + softplus(fake_logits).mean()
        g_loss = softplus(-fake_logits).mean()
        v_d = torch.autograd.grad(d_loss, critic_parameters, create_graph=True)
        v_g = torch.autograd.grad(g_loss, generator_parameters, create_graph=True)
        r = 0.5 * (sum(v.pow(2).sum() for v in v_d) + sum(v.pow(2).sum() for v in v_g))
        grads = torch.autograd.grad(10.0 * r, critic_parameters + generator_parameters)
        for p, v, gr in zip(critic_parameters, v_d, grads[:len(critic_parameters)]):
            p.grad = v.detach() + gr
        for p, v, gr in zip(generator_parameters, v_g, grads[len(critic_parameters):]):
            p.grad = v.detach() + gr
        critic_optimizer.step()
        generator_optimizer.step()

    def iteration():
        if preset == "Consensus":
            consensus_iteration()
            return
        for _ in range(args.n_critic):
            critic_step()
        generator_step()

    for _ in range(args.warmup):
        iteration()
    best, best_cpu = 0.0, math.inf
    for _ in range(args.repetitions):
        count, start, cpu_start = 0, time.perf_counter(), time.process_time()
        while True:
            iteration()
            count += 1
            elapsed = time.perf_counter() - start
            if elapsed >= args.seconds:
                break
        best = max(best, count / elapsed)
        best_cpu = min(best_cpu, (time.process_time() - cpu_start) / count)  # all of the process's threads

    print(json.dumps({
        "framework": "pytorch",
        "version": torch.__version__,
        "preset": preset,
        "width": width,
        "batch": batch,
        "iterations_per_second": best,
        "cpu_seconds_per_iteration": best_cpu,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "rss_before_networks_kib": rss_before_kib,
        "intra_op_threads": torch.get_num_threads(),
        "blas_threads": args.blas_threads,
        "penalty_batch": "concatenated" if args.concatenated_penalty_batch else "separate",
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
