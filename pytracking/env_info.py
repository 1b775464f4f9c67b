"""Installation report and self-check: ``python -m pytracking.env_info``.

Prints the versions, compute devices, image decoders and settings in use, then runs quick numerical checks of
the core libraries (FFT helpers, the Gauss-Newton/CG optimiser, box IoU, image decoding). Exits with status 1 if
a check fails. Attach the output to bug reports.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

DISTRIBUTIONS = (
    "torch",
    "torchvision",
    "numpy",
    "opencv-contrib-python-headless",
    "opencv-python",
    "pillow",
    "pandas",
    "scikit-image",
    "matplotlib",
    "tqdm",
    "gdown",
    "tensorboard",
    "visdom",
    "jpeg4py",
    "vot-toolkit",
)


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def report() -> list[tuple[str, list[tuple[str, str]]]]:
    """The report as sections of (key, value) rows."""
    import cv2
    import torch

    from ltr.admin import environment as ltr_env
    from pytracking.evaluation import environment as pt_env
    from pytracking.utils import image_io

    system = [
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("platform", platform.platform()),
        ("cpu threads (torch)", str(torch.get_num_threads())),
    ]
    packages = [(dist, _version(dist)) for dist in DISTRIBUTIONS]
    if _version("opencv-python") != "-":
        packages.append(("warning", "opencv-python is installed and may shadow the contrib build (see INSTALL.md)"))

    cuda = [("cuda available", str(torch.cuda.is_available())), ("torch cuda build", str(torch.version.cuda))]
    if torch.cuda.is_available():
        cuda += [(f"device {i}", torch.cuda.get_device_name(i)) for i in range(torch.cuda.device_count())]
    cuda.append(
        ("opencv CSRT/KCF (contrib)", str(hasattr(cv2, "TrackerCSRT_create") and hasattr(cv2, "TrackerKCF_create")))
    )

    decoders = [("usable", ", ".join(image_io.available_backends()))]
    decoders += [(name, f"unusable: {why}") for name, why in image_io.unusable_backends().items()]

    # Loading the settings first creates missing settings files, so the report shows the files in use.
    env = pt_env.env_settings()
    lenv = ltr_env.env_settings()
    settings = [
        (f"{label} settings file", str(m.local_file_path())) for label, m in (("pytracking", pt_env), ("ltr", ltr_env))
    ]
    outputs = ("results_path", "segmentation_path", "network_path", "result_plot_path")
    settings += [(name, str(getattr(env, name))) for name in outputs]
    settings.append(("workspace_dir (ltr)", lenv.workspace_dir))
    for name, value in env.as_dict().items():
        if value and name not in outputs:
            settings.append((name, f"{value}{'' if Path(str(value)).exists() else ' (does not exist)'}"))
    overrides = sorted(k for k in os.environ if k.startswith(("PYTRACKING_", "LTR_")))
    settings.append(("environment overrides", ", ".join(overrides) or "none"))

    return [
        ("System", system),
        ("Packages", packages),
        ("Devices", cuda),
        ("Image decoders", decoders),
        ("Settings", settings),
    ]


# ----------------------------------------------------------------------------------------------- self-checks


def _check_fft() -> str:
    import torch

    from pytracking.libs import fourier

    x = torch.randn(2, 3, 7, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    err = (fourier.cifft2(fourier.cfft2(x), signal_sizes=x.shape[-2:]) - x).abs().max().item()
    if err > 1e-10:
        raise AssertionError(f"cifft2(cfft2(x)) differs from x by {err:.2e}")
    return f"round trip error {err:.1e}"


def _check_optimizer() -> str:
    import torch

    from pytracking.libs import TensorList
    from pytracking.libs.optimization import GaussNewtonCG, L2Problem

    g = torch.Generator().manual_seed(0)
    a = torch.randn(12, 4, dtype=torch.float64, generator=g)
    b = torch.randn(12, dtype=torch.float64, generator=g)

    class Problem(L2Problem):
        def __call__(self, x: TensorList) -> TensorList:
            return TensorList([a @ x[0] - b])

    x = TensorList([torch.zeros(4, dtype=torch.float64, requires_grad=True)])
    GaussNewtonCG(Problem(), x).run(4, 2)
    expected = torch.linalg.lstsq(a, b.unsqueeze(1)).solution.squeeze(1)
    err = (x[0].detach() - expected).abs().max().item()
    if err > 1e-8:
        raise AssertionError(f"least-squares solution off by {err:.2e}")
    return f"GaussNewtonCG matches the closed-form least-squares solution ({err:.1e})"


def _check_boxes() -> str:
    import numpy as np

    from pytracking.utils.box_ops import iou_xywh

    iou = float(iou_xywh(np.array([0.0, 0.0, 10.0, 10.0]), np.array([5.0, 0.0, 10.0, 10.0])))
    if abs(iou - 1 / 3) > 1e-12:
        raise AssertionError(f"IoU of half-overlapping squares is {iou}, expected 1/3")
    return "IoU of half-overlapping squares = 1/3"


def _check_images() -> str:
    import cv2
    import numpy as np

    from pytracking.utils import image_io

    yy, xx = np.mgrid[0:48, 0:64]
    rgb = np.stack([xx * 4, yy * 5, (xx + yy) * 2], axis=-1).astype(np.uint8)
    parts = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "check.jpg"
        cv2.imwrite(str(path), rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
        for backend in image_io.available_backends():
            t0 = time.perf_counter()
            out = image_io.imread(path, backend=backend)
            dt = (time.perf_counter() - t0) * 1e3
            diff = np.abs(out.astype(int) - rgb.astype(int)).mean()
            if out.shape != rgb.shape or out.dtype != np.uint8 or diff > 4:
                raise AssertionError(f"{backend} decoded {out.shape} {out.dtype}, mean abs difference {diff:.2f}")
            parts.append(f"{backend} ok ({dt:.1f} ms)")
    return ", ".join(parts)


def _check_network() -> str:
    import torch

    from ltr.admin.checkpoint import save_network
    from ltr.models.tracking.dimpnet import dimpnet18
    from pytracking.utils.loading import load_network

    torch.manual_seed(0)
    t0 = time.perf_counter()
    net = dimpnet18(backbone_pretrained=False, filter_size=4, optim_iter=2, num_dist_bins=10, bin_displacement=0.5)
    with tempfile.TemporaryDirectory() as tmp:
        path = save_network(Path(tmp) / "DiMPnet_ep0001.pth.tar", net, epoch=1, actor_type="DiMPActor")
        loaded = load_network(path).eval()  # safe loading: weights_only plus the checkpoint allowlist
    g = torch.Generator().manual_seed(0)
    train = torch.rand(2, 1, 3, 128, 128, generator=g)
    test = torch.rand(1, 1, 3, 128, 128, generator=g)
    boxes = torch.tensor([[[40.0, 40.0, 48.0, 40.0]], [[44.0, 38.0, 44.0, 44.0]]])
    proposals = torch.tensor([[[[42.0, 40.0, 46.0, 42.0], [30.0, 30.0, 60.0, 60.0]]]])
    with torch.no_grad():
        scores, iou = loaded(train, test, boxes, proposals)
    if not (all(torch.isfinite(s).all() for s in scores) and torch.isfinite(iou).all()):
        raise AssertionError("non-finite network output")
    dt = (time.perf_counter() - t0) * 1e3
    return f"DiMP-18 built, saved in the official layout, safely reloaded, forward finite ({dt:.0f} ms)"


CHECKS: dict[str, Callable[[], str]] = {
    "fourier": _check_fft,
    "optimization": _check_optimizer,
    "box ops": _check_boxes,
    "image decoding": _check_images,
    "networks": _check_network,
}


def self_check() -> list[tuple[str, bool, str]]:
    """Run every check; returns (name, passed, detail) rows."""
    results = []
    for name, check in CHECKS.items():
        try:
            results.append((name, True, check()))
        except Exception as e:  # report every failing check, not only the first
            results.append((name, False, f"{type(e).__name__}: {e}"))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytracking.env_info", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action=argparse.BooleanOptionalAction, default=True, help="run the self-check")
    args = parser.parse_args(argv)

    for title, rows in report():
        print(f"\n{title}")
        width = max(len(k) for k, _ in rows)
        for key, value in rows:
            print(f"  {key:<{width}}  {value}")
    if not args.check:
        return 0
    results = self_check()
    print("\nSelf-check")
    width = max(len(n) for n, _, _ in results)
    for name, ok, detail in results:
        print(f"  {name:<{width}}  {'PASS' if ok else 'FAIL'}  {detail}")
    failed = sum(not ok for _, ok, _ in results)
    print(f"\n{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
