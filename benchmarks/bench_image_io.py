"""Per-image decode time of each usable image backend (``pytracking.utils.image_io``).

Usage::

    python benchmarks/bench_image_io.py                  # a real DAVIS sequence from the shared data
    python benchmarks/bench_image_io.py /path/to/frames --images 100 --repeat 5

Each image is read ``--repeat`` times per backend after one warm-up pass (so the files sit in the page cache and
disk speed is excluded); the reported time is the mean over images of the fastest repeat, file read included.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # allow running the script from a plain checkout
    sys.path.insert(0, str(REPO))

from pytracking.utils import image_io  # noqa: E402

DEFAULT_DIR = REPO / ".." / "shared" / "data" / "real" / "DAVIS" / "JPEGImages" / "480p" / "blackswan"
SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def _time_backend(paths: list[Path], backend: str, repeat: int) -> float:
    """Mean over images of the best-of-``repeat`` read+decode time, in milliseconds."""
    per_image = []
    for path in paths:
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            image_io.imread(path, backend=backend)
            best = min(best, time.perf_counter() - start)
        per_image.append(best * 1e3)
    return statistics.fmean(per_image)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIR, help="folder of images")
    parser.add_argument("--images", type=int, default=30, help="number of images (first N, sorted by name)")
    parser.add_argument("--repeat", type=int, default=3, help="reads per image and backend (best one counts)")
    args = parser.parse_args(argv)

    directory = args.directory.resolve()
    if not directory.is_dir():
        parser.error(f"not a directory: {directory}")
    paths = sorted(p for p in directory.iterdir() if p.suffix.lower() in SUFFIXES)[: args.images]
    if not paths:
        parser.error(f"no images ({', '.join(SUFFIXES)}) in {directory}")

    first = image_io.imread(paths[0])
    print(f"{len(paths)} images from {directory} ({first.shape[1]}x{first.shape[0]}), best of {args.repeat} reads")
    for backend, reason in image_io.unusable_backends().items():
        print(f"  {backend:8s} unusable: {reason}")

    usable = image_io.available_backends()
    for backend in usable:  # warm-up: page cache, lazy imports, decoder set-up
        for path in paths:
            image_io.imread(path, backend=backend)
    times = {backend: _time_backend(paths, backend, args.repeat) for backend in usable}

    reference = times.get("opencv")
    print(f"  {'backend':8s} {'ms/image':>9s} {'vs opencv':>10s}")
    for backend, ms in times.items():
        ratio = f"{ms / reference:9.2f}x" if reference else "      n/a"
        print(f"  {backend:8s} {ms:9.2f} {ratio:>10s}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
