"""Speed of the pure-PyTorch PrRoIPool2D against ``torchvision.ops.roi_align`` on the IoU-Net configurations.

Usage::

    python benchmarks/bench_prroi_pool.py                       # CPU, all configurations, 10 and 160 boxes
    python benchmarks/bench_prroi_pool.py --device cuda --repeats 200
    python benchmarks/bench_prroi_pool.py --methods              # also time each evaluation strategy

For every configuration and box count the script prints the median time (ms) of the forward pass and of
forward+backward (gradients for the features and the boxes, as in IoU-Net training) for PrRoIPool2D and for
``roi_align(..., sampling_ratio=2, aligned=False)`` on the same inputs, and their ratio (> 1: PrRoIPool2D is
slower). The two are timed alternately and each ratio is the median of the per-pair ratios, which keeps it stable
when other processes slow the machine down during the run. The last column times forward+backward with only the
boxes requiring gradients, as in IoU-Net box refinement at tracking time (features computed without gradients);
roi_align has no gradient for the boxes, so its ratio is taken against roi_align's forward+backward. roi_align is
only a speed yardstick: it samples points instead of integrating exactly.

``--layout tracking`` draws the boxes as a tracker's refinement proposals do: jittered copies of one target box
(instead of boxes spread over the whole crop), which lets the separable form work on a smaller window of the map.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # allow running the script from a plain checkout
    sys.path.insert(0, str(REPO))

from ltr.models.layers.prroi_pool import prroi_pool2d  # noqa: E402

# (name, feature shape, pooled size, spatial scale): AtomIoUNet's pools on a 288x288 crop.
CONFIGS = [
    ("3x3 @1/8  (1,256,36,36)", (1, 256, 36, 36), 3, 1 / 8),
    ("5x5 @1/8  (1,256,36,36)", (1, 256, 36, 36), 5, 1 / 8),
    ("3x3 @1/8  (1,128,36,36)", (1, 128, 36, 36), 3, 1 / 8),
    ("1x1 @1/16 (1,256,18,18)", (1, 256, 18, 18), 1, 1 / 16),
    ("3x3 @1/16 (1,256,18,18)", (1, 256, 18, 18), 3, 1 / 16),
]


def _boxes(num: int, image_size: float, gen: torch.Generator, layout: str = "random") -> torch.Tensor:
    """[0, x0, y0, x1, y1] boxes of 20-150 px.

    ``"random"``: anywhere around the crop (some crossing its border). ``"tracking"``: jittered copies of one
    target box of 60-120 px near the crop centre (centre offsets and log-size changes drawn with sigma 0.1 of the
    target size), as the IoU-Net refinement proposals are.
    """
    if layout == "tracking":
        target = torch.rand(2, generator=gen) * 60 + 60
        centre = image_size / 2 + (torch.rand(2, generator=gen) - 0.5) * 0.2 * image_size
        centre = centre + torch.randn(num, 2, generator=gen) * 0.1 * target
        size = target * torch.exp(torch.randn(num, 2, generator=gen) * 0.1)
    else:
        size = torch.rand(num, 2, generator=gen) * 130 + 20
        centre = torch.rand(num, 2, generator=gen) * image_size
    corner = centre - size / 2
    return torch.cat([torch.zeros(num, 1), corner, corner + size], dim=1)


def _paired_ms(
    fn: Callable[[], object], ref: Callable[[], object], repeats: int, device: torch.device
) -> tuple[float, float, float]:
    """Median times (ms) of ``fn`` and ``ref`` run alternately, and the median of the per-pair time ratios.

    Alternating the two and taking the ratio pair by pair keeps the ratio stable when the machine's speed drifts
    (other processes, frequency scaling) during the measurement; timing one block after the other does not.
    """
    for _ in range(max(3, repeats // 10)):
        fn()
        ref()
    times, ref_times = [], []
    for _ in range(repeats):
        for f, out in ((fn, times), (ref, ref_times)):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            f()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            out.append(time.perf_counter() - start)
    ratio = statistics.median(a / b for a, b in zip(times, ref_times, strict=True))
    return statistics.median(times) * 1e3, statistics.median(ref_times) * 1e3, ratio


def _forward_backward(
    pool: Callable, features: torch.Tensor, rois: torch.Tensor, features_grad: bool = True
) -> Callable[[], None]:
    def run() -> None:
        f = features.detach().requires_grad_(features_grad)
        r = rois.detach().requires_grad_()
        pool(f, r).sum().backward()

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--repeats", type=int, default=100, help="timed runs per measurement (median reported)")
    parser.add_argument("--boxes", type=int, nargs="+", default=[10, 160], help="numbers of boxes")
    parser.add_argument("--methods", action="store_true", help="also time the 'separable' and 'sat' strategies")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: leave the default)")
    parser.add_argument("--layout", choices=("random", "tracking"), default="random", help="how boxes are drawn")
    args = parser.parse_args(argv)

    try:
        from torchvision.ops import roi_align
    except ImportError:
        parser.error("torchvision is needed for the roi_align comparison")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("CUDA is not available")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"torch {torch.__version__} on {name}; {args.layout} boxes; median of {args.repeats} runs, times in ms")

    variants = [("prroi", "auto")] + ([("  separable", "separable"), ("  sat", "sat")] if args.methods else [])
    header = f"{'configuration':26s} {'boxes':>5s} {'variant':12s} {'fwd':>8s} {'ra fwd':>8s} {'ratio':>6s}"
    print(header + f" {'fwd+bwd':>8s} {'ra f+b':>8s} {'ratio':>6s} {'f+b rois':>8s} {'ratio':>6s}")
    gen = torch.Generator().manual_seed(0)
    for label, shape, pooled, scale in CONFIGS:
        features = torch.randn(shape, generator=gen).relu().to(device)
        image_size = shape[-1] / scale
        for num in args.boxes:
            rois = _boxes(num, image_size, gen, args.layout).to(device)

            def align(f: torch.Tensor, r: torch.Tensor, pooled: int = pooled, scale: float = scale) -> torch.Tensor:
                return roi_align(f, r, (pooled, pooled), scale, sampling_ratio=2, aligned=False)

            ra_fwd_fn = lambda: align(features, rois)  # noqa: B023, E731
            ra_fb_fn = _forward_backward(align, features, rois)
            for variant, method in variants:

                def pool(f: torch.Tensor, r: torch.Tensor, method: str = method) -> torch.Tensor:
                    return prroi_pool2d(f, r, pooled, pooled, scale, method=method)  # noqa: B023

                fwd, ra_fwd, r_fwd = _paired_ms(lambda: pool(features, rois), ra_fwd_fn, args.repeats, device)  # noqa: B023
                fb, ra_fb, r_fb = _paired_ms(_forward_backward(pool, features, rois), ra_fb_fn, args.repeats, device)
                fb_rois, _, r_rois = _paired_ms(
                    _forward_backward(pool, features, rois, False), ra_fb_fn, args.repeats, device
                )
                print(
                    f"{label:26s} {num:5d} {variant:12s} {fwd:8.3f} {ra_fwd:8.3f} {r_fwd:6.2f}"
                    f" {fb:8.3f} {ra_fb:8.3f} {r_fb:6.2f} {fb_rois:8.3f} {r_rois:6.2f}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
