"""Throughput of the DiMP training data pipeline (sampler + DiMPProcessing + LTRLoader) on generated frames.

Usage::

    python benchmarks/bench_data_pipeline.py                       # 640x480 frames, 3+3 frames, output 288
    python benchmarks/bench_data_pipeline.py --workers 0 1 2 4 --batches 20 --size 1280x720

The dataset serves generated frames from memory (a textured background with a moving target), so image decoding
is excluded (see ``bench_image_io.py`` for that). The processing is the one of ``ltr/train_settings/dimp/dimp50``:
jittered crops (search area 5, output 288), grayscale / brightness-jitter / normalisation transforms, 8 IoU
proposals per test frame and Gaussian labels for an 18x18 feature map.

Reported per worker count:

* ``samples/s``: processed training samples per second through an ``LTRLoader`` (batch size ``--batch-size``,
  ``stack_dim=1``), after one warm-up batch (worker start-up excluded), and per worker;
* ``it/s``: loader iterations (batches) per second.

With 0 workers everything runs in this process, with ``--threads`` torch threads (default 1, what each loader
worker uses).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # allow running the script from a plain checkout
    sys.path.insert(0, str(REPO))

from ltr.data import LTRLoader, processing, sampler  # noqa: E402
from ltr.data import transforms as tfm  # noqa: E402

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class GeneratedVideoDataset:
    """Sequences of ``seq_len`` frames drawn from a pool of generated frames (``ltr.dataset`` API).

    The target (a 90x70 box) moves diagonally; frames are copies of pool images, as a loader's decoded frames
    would be fresh arrays.
    """

    def __init__(self, width: int, height: int, num_sequences: int = 8, seq_len: int = 100, pool: int = 12):
        rng = np.random.default_rng(0)
        self.width, self.height = width, height
        self.num_sequences, self.seq_len = num_sequences, seq_len
        self.pool = [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(pool)]

    def __len__(self) -> int:
        return self.num_sequences

    def get_name(self) -> str:
        return "generated"

    def is_video_sequence(self) -> bool:
        return True

    def get_num_sequences(self) -> int:
        return self.num_sequences

    def get_sequence_info(self, seq_id: int) -> dict:
        f = torch.arange(self.seq_len, dtype=torch.float32)
        x = 40 + f * (self.width - 180) / self.seq_len
        y = 30 + f * (self.height - 140) / self.seq_len
        bbox = torch.stack([x, y, torch.full_like(f, 90.0), torch.full_like(f, 70.0)], dim=1)
        ones = torch.ones(self.seq_len, dtype=torch.bool)
        return {"bbox": bbox, "valid": ones, "visible": ones.clone()}

    def get_frames(self, seq_id: int, frame_ids: list[int], anno: dict | None = None):
        anno = self.get_sequence_info(seq_id) if anno is None else anno
        frames = [self.pool[(seq_id + f) % len(self.pool)].copy() for f in frame_ids]
        frame_anno = {k: [v[f].clone() for f in frame_ids] for k, v in anno.items()}
        return frames, frame_anno, OrderedDict(object_class_name=None)


def build_sampler(width: int, height: int, samples: int) -> sampler.DiMPSampler:
    """DiMPSampler + DiMPProcessing with the dimp50 training settings."""
    proc = processing.DiMPProcessing(
        search_area_factor=5.0,
        output_sz=288,
        center_jitter_factor={"train": 3, "test": 4.5},
        scale_jitter_factor={"train": 0.25, "test": 0.5},
        mode="sequence",
        proposal_params={"min_iou": 0.1, "boxes_per_frame": 8, "sigma_factor": [0.01, 0.05, 0.1, 0.2, 0.3]},
        label_function_params={"sigma_factor": 0.25 / 5.0, "kernel_sz": 4, "feature_sz": 18, "end_pad_if_even": True},
        transform=tfm.Transform(tfm.ToTensorAndJitter(0.2), tfm.Normalize(IMAGENET_MEAN, IMAGENET_STD)),
        joint_transform=tfm.Transform(tfm.ToGrayscale(probability=0.05)),
    )
    dataset = GeneratedVideoDataset(width, height)
    return sampler.DiMPSampler(
        [dataset], None, samples, max_gap=30, num_test_frames=3, num_train_frames=3, processing=proc
    )


def run(width: int, height: int, workers: int, batch_size: int, batches: int) -> tuple[float, float]:
    """(samples/s, iterations/s) over ``batches`` batches after one warm-up batch."""
    data = build_sampler(width, height, samples=batch_size * (batches + 1))
    loader = LTRLoader("train", data, batch_size=batch_size, num_workers=workers, stack_dim=1, drop_last=True)
    it = iter(loader)
    next(it)  # warm-up: worker start-up, first allocations
    start = time.perf_counter()
    n = 0
    for batch in it:
        n += 1
        assert batch["train_images"].shape == (3, batch_size, 3, 288, 288)
    elapsed = time.perf_counter() - start
    return n * batch_size / elapsed, n / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="640x480", help="frame size WxH")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2], help="loader worker counts")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--batches", type=int, default=8, help="timed batches per worker count")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of this process (0 workers)")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    torch.set_num_threads(args.threads)
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)

    print(
        f"DiMP pipeline: {width}x{height} frames, 3 train + 3 test frames, output 288, batch {args.batch_size}, "
        f"{args.batches} timed batches; torch {torch.__version__}, {torch.get_num_threads()} main-process thread(s)"
    )
    print(f"  {'workers':>7s} {'samples/s':>10s} {'per worker':>11s} {'it/s':>7s}")
    for workers in args.workers:
        sps, ips = run(width, height, workers, args.batch_size, args.batches)
        per_worker = f"{sps / workers:11.2f}" if workers else f"{'-':>11s}"
        print(f"  {workers:7d} {sps:10.2f} {per_worker} {ips:7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
