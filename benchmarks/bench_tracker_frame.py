"""Per-frame time of the DiMP-18, DiMP-50 (and ATOM, once present) trackers, split into stages, against the floor.

Usage::

    python benchmarks/bench_tracker_frame.py                       # dimp18 dimp50 atom, 40 frames of OTB Crossing
    python benchmarks/bench_tracker_frame.py dimp18 --frames 60 --threads 2 --device cpu

The networks are randomly initialised and saved in the official checkpoint layout to a temporary ``network_path``;
the trackers use their default parameter files (search region 288 px), except that the not-found threshold is
disabled: random networks score low everywhere, and a real tracker refines the box and updates its model on almost
every frame, which is the case timed here.

The **floor** is the network work every frame must do on the search crop: backbone + classification features +
IoU-Net features (median of repeated runs on one crop). The tracker's frame time is split into ``sample`` (crop and
resize), ``features`` (backbone + classification features), ``localization`` (scores + peak analysis),
``iou_features``, ``refinement`` (IoU-Net gradient ascent on the boxes) and ``update`` (sample memory + filter
optimisation); the medians of each stage are printed with the median frame time and its ratio to the floor.
Goal of the trackers issue: ratio <= 1.25 for each tracker.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # allow running the script from a plain checkout
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from ltr.admin.checkpoint import save_network  # noqa: E402

# Constructor arguments of the official checkpoints (they record them; see shared/spec/state_dicts).
_DIMP_KWARGS = dict(
    filter_size=4,
    optim_iter=5,
    clf_feat_norm=True,
    final_conv=True,
    optim_init_step=0.9,
    optim_init_reg=0.1,
    init_gauss_sigma=4.5,
    num_dist_bins=100,
    bin_displacement=0.1,
    mask_init_factor=3.0,
    target_mask_act="sigmoid",
    score_act="relu",
)
NETWORKS = {
    # tracker -> (tracker name, parameter name, file, constructor path, kwargs)
    "dimp18": ("dimp", "dimp18", "dimp18.pth", "ltr.models.tracking.dimpnet:dimpnet18", _DIMP_KWARGS),
    "dimp50": (
        "dimp",
        "dimp50",
        "dimp50.pth",
        "ltr.models.tracking.dimpnet:dimpnet50",
        {**_DIMP_KWARGS, "clf_feat_blocks": 0, "out_feature_dim": 512},
    ),
    "atom": ("atom", "default", "atom_default.pth", "ltr.models.bbreg.atom:atom_resnet18", {}),
}
STAGES = ("sample", "features", "localization", "iou_features", "refinement", "update")


def _constructor(path: str):
    import importlib

    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def write_network(directory: Path, key: str) -> None:
    """Save a randomly initialised network of tracker ``key`` like the official model file."""
    _, _, file_name, constructor, kwargs = NETWORKS[key]
    torch.manual_seed(0)
    net = _constructor(constructor)(backbone_pretrained=False, **kwargs)
    save_network(directory / file_name, net, epoch=50, actor_type="Actor")


def load_sequence(frames: int):
    """The first ``frames`` frames of OTB Crossing from shared/data/real, else a synthetic moving square."""
    from pytracking.utils.image_io import imread

    root = REPO.parent / "shared" / "data" / "real" / "OTB" / "Crossing"
    if root.is_dir():
        paths = sorted((root / "img").glob("*.jpg"))[:frames]
        gt = np.loadtxt(root / "groundtruth_rect.txt", delimiter=",")
        return [imread(str(p)) for p in paths], [float(v) for v in gt[0]], "OTB Crossing"
    images = []
    for i in range(frames):
        image = np.full((240, 360, 3), 60, np.uint8)
        image[60 + i : 110 + i, 100 + 2 * i : 130 + 2 * i] = (220, 40, 40)
        images.append(image)
    return images, [100.0, 60.0, 30.0, 50.0], "synthetic square"


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def floor_time(tracker, image: np.ndarray, repeats: int) -> float:
    """Median time of backbone + classification + IoU features on a search crop of the tracker's size."""
    from pytracking.features.preprocessing import numpy_to_torch, sample_patch

    net = getattr(tracker, "net", None)
    sz = tracker.img_sample_sz
    patch, _ = sample_patch(numpy_to_torch(image), tracker.pos, tracker.target_scale * sz, sz)

    def run():
        with torch.no_grad():
            if net is not None:  # DiMP family
                feat = net.extract_backbone(patch)
                net.extract_classification_feat(feat)
                net.bb_regressor.get_iou_feat(net.get_backbone_bbreg_feat(feat))
            else:  # ATOM: the feature extractor runs the backbone once for both heads (crop included)
                tracker.features.extract(
                    numpy_to_torch(image), tracker.pos.round(), tracker.target_scale * torch.ones(1), sz
                )
                tracker.features.get_unique_attribute("iounet_features")

    run()
    return _median_time(run, repeats)


def bench(key: str, images: list, init_box: list[float], repeats: int, device: torch.device) -> None:
    from pytracking.evaluation.tracker import Tracker, seed_everything

    name, param, *_ = NETWORKS[key]
    tracker_def = Tracker(name, param)
    try:
        params = tracker_def.get_parameters()
    except ModuleNotFoundError as e:
        print(f"{key:8s} skipped: {e}")
        return
    params.target_not_found_threshold = -1e9
    params.use_gpu = device.type == "cuda"
    if hasattr(params, "net"):
        params.net.use_gpu, params.net.device = params.use_gpu, device
    tracker = tracker_def.create_tracker(params)
    seed_everything(0)
    start = time.perf_counter()
    tracker.initialize(images[0], {"init_bbox": init_box})
    init_time = time.perf_counter() - start

    frame_times, stages = [], {s: [] for s in STAGES}
    for image in images[1:]:
        start = time.perf_counter()
        tracker.track(image, {})
        frame_times.append(time.perf_counter() - start)
        for s in STAGES:
            stages[s].append(tracker.timer.times.get(s, 0.0))
    floor = floor_time(tracker, images[-1], repeats)
    median = statistics.median(frame_times)
    split = "  ".join(f"{s} {1e3 * statistics.median(v):6.1f}" for s, v in stages.items())
    print(
        f"{key:8s} floor {1e3 * floor:6.1f} ms  frame median {1e3 * median:6.1f} ms  ratio {median / floor:4.2f}  "
        f"(init {1e3 * init_time:.0f} ms)\n         stage medians [ms]: {split}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trackers", nargs="*", help=f"any of {sorted(NETWORKS)} (default: all)")
    parser.add_argument("--frames", type=int, default=40, help="frames tracked (the first one initialises)")
    parser.add_argument("--repeats", type=int, default=15, help="repetitions of the floor measurement")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = parser.parse_args()
    args.trackers = args.trackers or list(NETWORKS)
    unknown = set(args.trackers) - set(NETWORKS)
    if unknown:
        parser.error(f"unknown trackers {sorted(unknown)}; choose from {sorted(NETWORKS)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    images, init_box, source = load_sequence(args.frames)
    print(
        f"{source}, {len(images)} frames, device {args.device}, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PYTRACKING_NETWORK_PATH"] = tmp
        for key in args.trackers:
            write_network(Path(tmp), key)
        for key in args.trackers:
            bench(key, images, init_box, args.repeats, torch.device(args.device))


if __name__ == "__main__":
    main()
