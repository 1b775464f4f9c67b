"""Every DiMP and ATOM parameter file, end to end: random networks in the official checkpoint layout, a sequence
of the embedded synthetic benchmark and a real one (OTB, VOT, UAV123, DAVIS, read with the repository's
loaders), tracked through ``run_dataset`` into result files in the original's format.

Time budget: the sweep must stay around a minute and a half on a 2-core CPU, so sequences are cut to their first
``NUM_FRAMES`` frames, the real sequences rotate over the variants, and the costlier variants run with a cheaper
first frame (see :func:`cheaper_first_frame`). Search-region sizes (352 px included), thresholds, refinement and
update settings are the parameter files' own values everywhere; the variants in ``UNMODIFIED`` run exactly as
their files say.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

from pytracking.evaluation import Sequence, SequenceList, Tracker, get_dataset
from pytracking.evaluation.davisdataset import DAVISDataset
from pytracking.evaluation.otbdataset import OTBDataset, OTBStyleFolderDataset
from pytracking.evaluation.running import result_files, run_dataset
from pytracking.evaluation.votdataset import VOTDataset
from pytracking.utils.image_io import imread

DIMP_VARIANTS = [
    "dimp18",
    "dimp50",
    "prdimp18",
    "prdimp50",
    "super_dimp",
    "dimp18_vot18",
    "dimp50_vot18",
    "dimp50_vot19",
    "prdimp50_vot18",
]
ATOM_VARIANTS = ["default", "default_vot", "multiscale_no_iounet", "atom_prob_ml", "atom_gmm_sampl"]
VARIANTS = [("dimp", v) for v in DIMP_VARIANTS] + [("atom", v) for v in ATOM_VARIANTS]

# Checked for identical boxes when run again with the same seed (on the real sequence).
RERUN = {("dimp", "dimp18"), ("atom", "default")}

# Run exactly as their parameter files say (the ResNet-18 DiMPs, DiMP-50 and ATOM at 224 px are cheap enough).
UNMODIFIED = {("dimp", "dimp18"), ("dimp", "prdimp18"), ("dimp", "dimp18_vot18"), ("dimp", "dimp50")}
UNMODIFIED |= {("atom", "default_vot")}

NUM_FRAMES = 3

# (loader, sequence) pairs; each variant gets one, in turn.
REAL_SEQUENCES = [
    ("otb", "Crossing"),
    ("vot", "bag"),
    ("uav", "person11"),
    ("otb", "Girl"),  # 128 x 96 px: the search region is larger than the image
    ("davis", "blackswan"),  # multi-object mode: one result file per object
]
# The synthetic sequence of each variant, also in turn (all visible on their first frames).
SYNTHETIC_INDICES = [0, 1, 3, 5, 7]

SWEEP = [
    pytest.param(name, param, SYNTHETIC_INDICES[i % 5], REAL_SEQUENCES[i % 5], id=f"{name}-{param}")
    for i, (name, param) in enumerate(VARIANTS)
]


# ---------------------------------------------------------------------------------------------------- sequences


def first_frames(seq: Sequence, n: int) -> Sequence:
    """``seq`` cut to its first ``n`` frames (single- and multi-object sequences)."""
    gt = seq.ground_truth_rect
    gt = {k: v[:n] for k, v in gt.items()} if isinstance(gt, dict) else gt[:n]
    seg = seq.ground_truth_seg
    return Sequence(
        seq.name,
        seq.frames[:n],
        seq.dataset,
        gt,
        ground_truth_seg=None if seg is None else seg[:n],
        init_data=seq.init_data if seq.multiobj_mode else None,
        object_ids=seq.object_ids,
        multiobj_mode=seq.multiobj_mode,
    )


def real_sequence(root: Path, loader: str, name: str) -> Sequence:
    """A real sequence read by the repository's dataset loader pointed at its folder under ``root``."""
    if loader == "otb":
        dataset = OTBDataset(root=root / "OTB")
    elif loader == "vot":
        dataset = VOTDataset(sequences=[name], root=root / "VOT")
    elif loader == "uav":
        # UAV123@10fps shipped in the OTB-style layout (img/ + groundtruth_rect.txt).
        dataset = OTBStyleFolderDataset(root=root / "UAV123_10fps", dataset_name="uav")
    else:
        dataset = DAVISDataset(version="2016", sequences=[name], root=root / "DAVIS")
    return first_frames(dataset.get_sequence(name), NUM_FRAMES)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> SequenceList:
    """The embedded synthetic benchmark, generated once into a temporary cache."""
    base = tmp_path_factory.mktemp("synthetic_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTRACKING_SYNTHETIC_PATH", str(base))
        mp.setenv("PYTRACKING_LOCAL_FILE", str(base / "pytracking_local.py"))
        dataset = get_dataset("synthetic")
        return SequenceList(first_frames(seq, NUM_FRAMES) for seq in dataset)


@pytest.fixture
def networks(official_networks, monkeypatch) -> Path:
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(official_networks))
    return official_networks


# --------------------------------------------------------------------------------------------------- parameters


def cheaper_first_frame(name: str, param: str):
    """The parameter file with a cheaper first frame, for the time budget only: every augmentation kind is kept
    but with one instance each (one rotation, one blur, one shift, at most two dropout copies) instead of up to
    23 augmented samples; ATOM's first-frame Gauss-Newton also runs fewer iterations (2 x 5 instead of 6 x 10).
    Everything else (search region, thresholds, refinement, updates) keeps the file's values."""

    def parameters():
        params = importlib.import_module(f"pytracking.parameter.{name}.{param}").parameters()
        aug = dict(params.augmentation)
        for key in ("shift", "relativeshift", "rotate", "blur", "scale"):
            if key in aug:
                aug[key] = list(aug[key])[:1]
        if "dropout" in aug:
            aug["dropout"] = (min(aug["dropout"][0], 2), aug["dropout"][1])
        params.augmentation = aug
        if name == "atom":
            params.init_GN_iter, params.init_CG_iter = 2, 10
        return params

    return parameters


class RecordingTracker(Tracker):
    """A Tracker that keeps the float outputs of the runs ``run_dataset`` makes (by sequence name)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outputs: dict[str, dict] = {}

    def run_sequence(self, seq, *args, **kwargs):
        output = super().run_sequence(seq, *args, **kwargs)
        self.outputs[seq.name] = output
        return output


# ------------------------------------------------------------------------------------------------------- checks


def check_boxes(boxes: np.ndarray, num_frames: int, image_hw: tuple[int, int]) -> None:
    """One finite box per frame, positive size, and the centre within the reach the trackers allow.

    The trackers clamp the position so that ``target_inside_ratio`` (0.2) of the target stays in the image, with
    the size it had before the IoU-Net changed it: the centre may lie 0.3 of the current or of the previous
    size outside (plus a pixel for the integer truncation of the result files).
    """
    assert boxes.shape == (num_frames, 4)
    assert np.isfinite(boxes).all() and (boxes[:, 2:] > 0).all()
    h, w = image_hw
    size = np.maximum(boxes[:, 2:], np.concatenate([boxes[:1, 2:], boxes[:-1, 2:]]))
    margin = 0.3 * size + 1
    cx, cy = boxes[:, 0] + boxes[:, 2] / 2, boxes[:, 1] + boxes[:, 3] / 2
    assert ((cx >= -margin[:, 0]) & (cx <= w + margin[:, 0])).all(), boxes
    assert ((cy >= -margin[:, 1]) & (cy <= h + margin[:, 1])).all(), boxes
    assert (boxes[:, 2] <= 2 * w).all() and (boxes[:, 3] <= 2 * h).all(), boxes


def read_results(tracker: Tracker, seq: Sequence) -> dict[str, np.ndarray]:
    """The result files of ``seq`` (main box file(s) and their ``_time.txt``), parsed: file stem -> boxes."""
    out = {}
    for path in result_files(tracker, seq):
        assert path.is_file(), path
        boxes = np.loadtxt(path, delimiter="\t", ndmin=2)
        times = np.loadtxt(path.with_name(f"{path.stem}_time.txt"), ndmin=1)
        assert boxes.shape == (len(seq.frames), 4) and times.shape == (len(seq.frames),)
        assert (times >= 0).all()
        # Integers, as the original wrote them ('%d', tab separated).
        fields = [f for line in path.read_text().splitlines() for f in line.split("\t")]
        assert len(fields) == 4 * len(seq.frames) and all(f.lstrip("-").isdigit() for f in fields)
        out[path.stem] = boxes
    return out


# --------------------------------------------------------------------------------------------------------- tests


@pytest.mark.slow
@pytest.mark.parametrize(("name", "param", "syn_index", "real"), SWEEP)
def test_variant_tracks_synthetic_and_real_sequences(name, param, syn_index, real, networks, synthetic, shared_real):
    sequences = SequenceList([synthetic[syn_index], real_sequence(shared_real, *real)])
    parameters = None if (name, param) in UNMODIFIED else cheaper_first_frame(name, param)
    tracker = RecordingTracker(name, param, parameters=parameters)
    summary = run_dataset(sequences, tracker, progress=False, verbose=False, raise_errors=True)
    assert [r.status for r in summary.results] == ["done", "done"]

    for seq in sequences:
        image_hw = imread(seq.frames[0]).shape[:2]
        results = read_results(tracker, seq)
        init = seq.init_info()["init_bbox"]
        inits = init if isinstance(init, dict) else {seq.name: init}
        assert len(results) == len(inits)
        for (stem, boxes), init_box in zip(results.items(), inits.values()):
            check_boxes(boxes, NUM_FRAMES, image_hw)
            np.testing.assert_array_equal(boxes[0], np.trunc(init_box), err_msg=stem)
        # The written rows are the tracker's boxes truncated to integers.
        floats = tracker.outputs[seq.name]["target_bbox"]
        per_object = [[f[k] for f in floats] for k in floats[1]] if isinstance(floats[1], dict) else [floats]
        for boxes, tracked in zip(results.values(), per_object):
            np.testing.assert_array_equal(boxes, np.trunc(np.array(tracked, dtype=np.float64)))

    if (name, param) in RERUN:
        # run_dataset seeded the run with the tracker's sequence seed; the same seed again gives the same floats.
        seq = sequences[1]
        again = tracker.run_sequence(seq)
        assert again["target_bbox"] == tracker.outputs[seq.name]["target_bbox"]
