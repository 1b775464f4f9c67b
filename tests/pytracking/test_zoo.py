"""Networks shipped with the package: integrity checks and the tiny DiMP end to end."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from pytracking import zoo
from pytracking.evaluation import Sequence, Tracker
from pytracking.evaluation.otbdataset import OTBDataset


def test_shipped_files_match_their_checksums():
    for name, digest in zoo.SHA256.items():
        path = zoo.zoo_file(name)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
        assert path.stat().st_size < 10 * 2**20  # a few MB: fit for the repository


def test_missing_damaged_and_unknown_files_are_explained(tmp_path, monkeypatch):
    monkeypatch.setattr(zoo, "ZOO_DIR", tmp_path)
    monkeypatch.setattr(zoo, "SHA256", {"net.pth.tar": hashlib.sha256(b"good").hexdigest()})
    with pytest.raises(FileNotFoundError, match="net.pth.tar is missing.*reinstall"):
        zoo.zoo_file("net.pth.tar")
    (tmp_path / "net.pth.tar").write_bytes(b"bad")
    with pytest.raises(ValueError, match="damaged.*expected"):
        zoo.zoo_file("net.pth.tar")
    assert zoo.zoo_file("net.pth.tar", verify=False) == tmp_path / "net.pth.tar"
    (tmp_path / "net.pth.tar").write_bytes(b"good")
    assert zoo.zoo_file("net.pth.tar") == tmp_path / "net.pth.tar"
    with pytest.raises(KeyError, match="not a network shipped"):
        zoo.zoo_file("dimp50.pth")


@pytest.mark.slow
def test_tiny_dimp_tracks_a_real_sequence_reproducibly(shared_real):
    full = OTBDataset(root=shared_real / "OTB").get_sequence("Crossing")
    seq = Sequence("Crossing", full.frames[:20], "otb", np.asarray(full.ground_truth_rect[:20], dtype=np.float64))
    tracker = Tracker("dimp", "dimp_tiny_synthetic")
    runs = [np.array(tracker.run_sequence(seq, seed=1)["target_bbox"]) for _ in range(2)]
    np.testing.assert_array_equal(runs[0], runs[1])
    boxes = runs[0]
    assert boxes.shape == (20, 4) and np.isfinite(boxes).all() and (boxes[:, 2:] > 0).all()
    centres = boxes[:, :2] + boxes[:, 2:] / 2
    assert ((centres >= 0) & (centres <= [360, 240])).all()
