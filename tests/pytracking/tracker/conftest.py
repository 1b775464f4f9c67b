"""Fixtures of the tracker tests: randomly initialised networks saved under the official model file names."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import torch

from ltr.admin.checkpoint import save_network

# Constructor arguments recorded in the official checkpoints (shared/spec/state_dicts/*.txt). The ResNet-50 networks
# add _RESNET50_KWARGS to those of their ResNet-18 counterparts; super_dimp is DiMP-50 with its own label sigma and
# a frozen early backbone.
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
_PRDIMP_KWARGS = dict(
    filter_size=4,
    optim_iter=5,
    clf_feat_norm=True,
    final_conv=True,
    optim_init_step=1.0,
    optim_init_reg=0.05,
    optim_min_reg=0.05,
    gauss_sigma=4.5,
    alpha_eps=0.05,
    normalize_label=True,
    init_initializer="zero",
)
_RESNET50_KWARGS = dict(clf_feat_blocks=0, out_feature_dim=512)
_SUPER_DIMP_KWARGS = dict(init_gauss_sigma=5.5, frozen_backbone_layers=["conv1", "bn1", "layer1", "layer2"])

# The official networks: file name -> (factory, constructor arguments, actor_type); backbone_pretrained is off so
# that nothing is downloaded.
OFFICIAL_NETWORKS: dict[str, tuple[str, dict, str]] = {
    "dimp18.pth": ("ltr.models.tracking.dimpnet.dimpnet18", _DIMP_KWARGS, "DiMPActor"),
    "dimp50.pth": ("ltr.models.tracking.dimpnet.dimpnet50", {**_DIMP_KWARGS, **_RESNET50_KWARGS}, "DiMPActor"),
    "prdimp18.pth.tar": ("ltr.models.tracking.dimpnet.klcedimpnet18", _PRDIMP_KWARGS, "KLDiMPActor"),
    "prdimp50.pth.tar": (
        "ltr.models.tracking.dimpnet.klcedimpnet50",
        {**_PRDIMP_KWARGS, **_RESNET50_KWARGS},
        "KLDiMPActor",
    ),
    "super_dimp.pth.tar": (
        "ltr.models.tracking.dimpnet.dimpnet50",
        {**_DIMP_KWARGS, **_RESNET50_KWARGS, **_SUPER_DIMP_KWARGS},
        "KLDiMPActor",
    ),
    # The probabilistic ATOM variants name their networks without an extension; they are ATOM-18 networks.
    "atom_default.pth": ("ltr.models.bbreg.atom.atom_resnet18", {}, "AtomActor"),
    "atom_prob_ml": ("ltr.models.bbreg.atom.atom_resnet18", {}, "AtomActor"),
    "atom_gmm_sampl": ("ltr.models.bbreg.atom.atom_resnet18", {}, "AtomActor"),
}


def write_official_network(directory: Path, file_name: str, seed: int = 0) -> Path:
    """Save a randomly initialised (seeded) network as the official model file ``file_name`` in ``directory``.

    The file has the layout of the released models (:func:`ltr.admin.checkpoint.save_network`).
    """
    factory_path, kwargs, actor_type = OFFICIAL_NETWORKS[file_name]
    module, name = factory_path.rsplit(".", 1)
    factory = getattr(importlib.import_module(module), name)
    torch.manual_seed(seed)
    net = factory(backbone_pretrained=False, **kwargs)
    return save_network(directory / file_name, net, epoch=50, actor_type=actor_type)


@pytest.fixture(scope="session")
def official_network_dir(tmp_path_factory):
    """``get(*file_names) -> directory``: one session directory where the named official network files are
    written on first request (random weights, see :func:`write_official_network`)."""
    directory = tmp_path_factory.mktemp("official_networks")

    def get(*file_names: str) -> Path:
        for file_name in file_names:
            if not (directory / file_name).is_file():
                write_official_network(directory, file_name)
        return directory

    return get


@pytest.fixture(scope="session")
def official_networks(official_network_dir) -> Path:
    """The directory holding every official network file of the DiMP and ATOM parameter files (random weights).

    Point ``PYTRACKING_NETWORK_PATH`` at it (the autouse settings fixture clears that variable for each test).
    """
    return official_network_dir(*OFFICIAL_NETWORKS)
