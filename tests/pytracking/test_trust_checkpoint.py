"""``--trust-checkpoint`` on run_tracker / run_video / run_webcam, the parameter walk that applies it, and the
single clear message for a missing network file."""

from __future__ import annotations

import pickle
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from ltr.admin.checkpoint import save_network
from ltr.models.tracking import dimpnet
from pytracking import run_tracker, run_video, run_webcam
from pytracking.evaluation import Sequence, SequenceList, Tracker, datasets, live
from pytracking.features.net_wrappers import NetWithBackbone, check_networks, network_holders, trust_networks
from pytracking.parameter.atom import default as atom_default
from pytracking.parameter.dimp import dimp50
from pytracking.utils.params import TrackerParams

BOX = [40.0, 30.0, 30.0, 24.0]


def square_frames(n: int = 2) -> list[np.ndarray]:
    """BGR frames of a red rectangle moving right on grey, starting at BOX."""
    frames = []
    for i in range(n):
        image = np.full((120, 160, 3), 60, np.uint8)
        x = 40 + 3 * i
        image[30:54, x : x + 30] = (40, 40, 220)
        frames.append(image)
    return frames


def square_sequence(folder: Path, n: int = 2) -> Sequence:
    paths = []
    for i, image in enumerate(square_frames(n)):
        path = folder / f"{i:04d}.png"
        cv2.imwrite(str(path), image)
        paths.append(str(path))
    return Sequence("square", paths, "synthetic", np.array([BOX] * n))


@pytest.fixture(scope="module")
def untrusted_network_dir(tmp_path_factory) -> Path:
    """``dimp18.pth`` (random weights, official layout) that also pickles a ``fractions.Fraction``: a class that
    is not among those a checkpoint holds."""
    directory = tmp_path_factory.mktemp("untrusted")
    torch.manual_seed(0)
    net = dimpnet.dimpnet18(backbone_pretrained=False, filter_size=4, optim_iter=5)
    save_network(directory / "dimp18.pth", net, epoch=50, actor_type="DiMPActor", net_info={"ratio": Fraction(1, 3)})
    return directory


# ----------------------------------------------------------------------------------------------- parameter walk


def test_network_holders_of_dimp_and_atom_parameters_without_loading():
    params = dimp50.parameters()
    assert network_holders(params) == [params.net]
    atom = atom_default.parameters()
    (feature,) = atom.features.features
    assert network_holders(atom) == [feature] and feature.net is None
    assert trust_networks(params) == 1 and params.net.trust is True
    assert trust_networks(atom) == 1 and feature.trust is True
    assert trust_networks(atom, trust=False) == 1 and feature.trust is False
    assert not params.net.is_loaded  # the walk reads attributes, it never forwards to (and loads) the network


def test_network_holders_in_nested_containers_each_once():
    a, b = NetWithBackbone("a.pth"), NetWithBackbone("b.pth")
    params = TrackerParams()
    params.nets = {"first": a, "again": [a, (b,)]}
    params.me = params  # a cycle
    params.tensor = torch.zeros(3)
    assert network_holders(params) == [a, b]
    assert trust_networks([params, params]) == 2 and a.trust and b.trust
    assert network_holders(TrackerParams()) == [] and trust_networks(None) == 0


def test_atom_feature_passes_trust_to_the_wrapper_it_creates(monkeypatch):
    (feature,) = atom_default.parameters().features.features
    trust_networks(feature)
    monkeypatch.setattr(NetWithBackbone, "initialize", lambda self: None)
    feature.initialize()
    assert isinstance(feature.net, NetWithBackbone) and feature.net.trust is True


def test_tracker_trust_checkpoint_marks_the_parameters_also_after_pickling():
    assert Tracker("dimp", "dimp18").get_parameters().net.trust is False
    tracker = Tracker("dimp", "dimp18", trust_checkpoint=True)
    assert tracker.get_parameters().net.trust is True
    worker_copy = pickle.loads(pickle.dumps(tracker))  # what run_dataset sends to its worker processes
    assert worker_copy.get_parameters().net.trust is True
    atom = Tracker("atom", "default", trust_checkpoint=True, parameters=atom_default.parameters)
    assert atom.get_parameters().features.features[0].trust is True


@pytest.mark.parametrize("module", [run_tracker, run_video, run_webcam], ids=lambda m: m.__name__.split(".")[-1])
def test_trust_checkpoint_option_of_every_entry_point(module):
    base = ["dimp", "dimp18"] + (["v.mp4"] if module is run_video else [])
    parser = module.build_parser()
    assert parser.parse_args(base).trust_checkpoint is False
    assert parser.parse_args([*base, "--trust-checkpoint"]).trust_checkpoint is True
    assert parser.parse_args([*base, "--trust-checkpoint", "--no-trust-checkpoint"]).trust_checkpoint is False


def test_run_webcam_main_passes_the_option_on(monkeypatch):
    seen = {}

    def fake_run_webcam(*args, **kwargs):
        seen.update(kwargs)
        raise live.VideoSourceError("no camera")

    monkeypatch.setattr(live, "run_webcam", fake_run_webcam)
    assert run_webcam.main(["dimp", "dimp18", "--trust-checkpoint"]) == 2
    assert seen["trust_checkpoint"] is True
    assert run_webcam.main(["dimp", "dimp18"]) == 2 and seen["trust_checkpoint"] is False


# ------------------------------------------------------------------------------------------ untrusted checkpoint


@pytest.mark.slow
def test_run_tracker_refuses_an_unexpected_class_unless_trusted(untrusted_network_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(untrusted_network_dir))
    monkeypatch.setenv("PYTRACKING_RESULTS_PATH", str(tmp_path / "results"))
    seq = square_sequence(tmp_path)
    monkeypatch.setattr(datasets, "get_dataset", lambda name: SequenceList([seq]))
    result_file = tmp_path / "results" / "dimp" / "dimp18" / "square.txt"

    assert run_tracker.main(["dimp", "dimp18", "--dataset", "square"]) == 1
    out = capsys.readouterr().out
    assert "fractions.Fraction" in out and "--trust-checkpoint" in out and "FAILED dimp/dimp18" in out
    assert not result_file.exists()

    assert run_tracker.main(["dimp", "dimp18", "--dataset", "square", "--trust-checkpoint"]) == 0
    boxes = np.loadtxt(result_file, delimiter="\t")
    assert boxes.shape == (2, 4) and boxes[0].tolist() == BOX


@pytest.mark.slow
def test_run_video_refuses_an_unexpected_class_unless_trusted(untrusted_network_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(untrusted_network_dir))
    video = tmp_path / "square.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 25, (160, 120))
    for image in square_frames(2):
        writer.write(image)
    writer.release()
    argv = ["dimp", "dimp18", str(video), "--optional_box", *map(str, BOX), "--no-display"]

    assert run_video.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Refusing to load") and "'fractions.Fraction'" in err and "--trust-checkpoint" in err
    assert "Traceback" not in err

    assert run_video.main([*argv, "--trust-checkpoint"]) == 0
    assert "2 frames" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------- missing network


@pytest.mark.parametrize("entry", ["run_tracker", "run_video"])
def test_missing_network_gives_one_message_with_the_download_command(entry, tmp_path, monkeypatch, capsys):
    network_dir = tmp_path / "networks"
    network_dir.mkdir()
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(network_dir))
    monkeypatch.setattr(datasets, "get_dataset", lambda name: SequenceList([square_sequence(tmp_path)]))
    video = tmp_path / "v.mp4"
    video.write_bytes(b"")  # never opened: the network is checked first
    if entry == "run_tracker":
        status = run_tracker.main(["dimp", "dimp50", "--dataset", "square"])
    else:
        status = run_video.main(["dimp", "dimp50", str(video), "--optional_box", "1", "1", "5", "5", "--no-display"])
    assert status == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert captured.err.count("error:") == 1
    assert "'dimp50.pth' not found" in captured.err and str(network_dir) in captured.err
    assert "python -m pytracking.download_networks dimp50.pth" in captured.err


def test_check_networks_resolves_every_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(tmp_path))
    params = atom_default.parameters()
    (tmp_path / "atom_default.pth").write_bytes(b"x")
    assert check_networks(params) == [tmp_path / "atom_default.pth"]
    assert check_networks(TrackerParams()) == []
