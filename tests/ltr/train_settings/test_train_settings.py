"""Train settings: every recipe trains one tiny epoch on CPU through ``run_training``, writes a checkpoint in the
official layout that ``pytracking.utils.loading.load_network`` reads back, and uses the original hyper-parameters
(optimizer groups and learning rates, loss weights, frozen layers, samplers, processing, network arguments)."""

from __future__ import annotations

import shutil
import types
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from conftest import listing, read_state_dict_spec

from ltr.actors import AtomActor, DiMPActor, KLDiMPActor
from ltr.admin.settings import Settings
from ltr.data import processing, sampler
from ltr.dataset import SyntheticTracking
from ltr.models.loss import KLRegression, KLRegressionGrid, LBHinge
from ltr.run_training import available_settings, run_training
from ltr.train_settings import common
from pytracking.utils.loading import load_network

# A small, quickly rendered synthetic split (the cache is keyed on these parameters).
TINY = dict(num_sequences=3, min_frames=24, max_frames=24, width=64, height=48, textures="procedural")
IMAGENET_NORMALIZE = "Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])"
DIMP_LOSS_WEIGHT = {"iou": 1, "test_clf": 100, "test_init_clf": 100, "test_iter_clf": 400}


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    SyntheticTracking(root=root, **TINY)
    return root


@pytest.fixture(scope="module")
def synthetic(synthetic_root) -> SyntheticTracking:
    return SyntheticTracking(root=synthetic_root, **TINY)


@pytest.fixture(autouse=True)
def one_thread():
    # Two threads on a two-core machine that is busy elsewhere slow these small convolutions down many times.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("LTR_WORKSPACE_DIR", str(tmp_path / "workspace"))
    monkeypatch.setenv("LTR_TENSORBOARD_DIR", "")
    yield tmp_path / "workspace"
    # The checkpoints hold the full networks and Adam states (up to 0.4 GB each): do not keep them around.
    shutil.rmtree(tmp_path / "workspace", ignore_errors=True)


def tiny_settings(feature_sz: int, datasets=None, **extra) -> Settings:
    """One epoch of one batch of 2 samples (IoU-Net's BatchNorm needs 2) on the CPU, no workers, no ImageNet
    weights."""
    s = Settings()
    s.use_gpu = False
    s.batch_size = 2
    s.num_workers = 0
    s.samples_per_epoch = 2
    s.val_samples_per_epoch = 2
    s.max_epochs = 1
    s.feature_sz = feature_sz
    s.backbone_pretrained = False
    s.fail_safe = False
    if datasets is not None:
        s.train_datasets_override = [datasets]
        s.val_datasets_override = [(datasets, 1.0)]
    for name, value in extra.items():
        setattr(s, name, value)
    return s


def train_one_epoch(module: str, name: str, settings: Settings, workspace: Path, net_type: str = "DiMPnet"):
    """Run the setting; check the checkpoint's path and that it loads into an equal network."""
    trainer = run_training(module, name, cudnn_benchmark=False, seed=0, settings=settings)
    directory = workspace / "checkpoints" / "ltr" / module / name
    assert sorted(p.name for p in directory.iterdir()) == [f"{net_type}_ep0001.pth.tar"]
    assert trainer.epoch == 1 and settings.project_path == f"ltr/{module}/{name}"
    net = load_network(directory / f"{net_type}_ep0001.pth.tar")
    trained = trainer.actor.net.state_dict()
    assert net.state_dict().keys() == trained.keys()
    assert all(torch.equal(v, trained[k].cpu()) for k, v in net.state_dict().items())
    return trainer, net


def group_lrs(trainer) -> list[float]:
    """The learning rates the groups were configured with (the scheduler records them as ``initial_lr``)."""
    return [g["initial_lr"] for g in trainer.optimizer.param_groups]


def same_params(group: dict, module: nn.Module) -> bool:
    return [id(p) for p in group["params"]] == [id(p) for p in module.parameters()]


def assert_official_network(net: nn.Module, spec_name: str, ignore: tuple[str, ...] = ()) -> None:
    """Constructor arguments and state-dict layout equal the released network's (``shared/spec``)."""
    spec = read_state_dict_spec(spec_name)
    assert f"{net.constructor.fun_module}.{net.constructor.fun_name}" == spec.constructor
    kwargs = {k: v for k, v in net.constructor.kwds.items() if k not in ignore}
    assert kwargs == {k: v for k, v in spec.kwargs.items() if k not in ignore}
    assert listing(net) == spec.entries


def assert_loaders(
    trainer, sampler_cls, max_gap: int, frames: tuple[int, int], weights: list[float], mode: str, val_interval=5
):
    loader_train, loader_val = trainer.loaders
    assert (loader_train.name, loader_train.training, loader_train.stack_dim) == ("train", True, 1)
    assert (loader_val.name, loader_val.training, loader_val.epoch_interval) == ("val", False, val_interval)
    assert loader_train.drop_last and loader_val.drop_last
    for s in (loader_train.dataset, loader_val.dataset):
        assert type(s) is sampler_cls
        assert (s.max_gap, s.num_train_frames, s.num_test_frames, s.frame_sample_mode) == (max_gap, *frames, mode)
    total = sum(weights)
    assert loader_train.dataset.p_datasets == pytest.approx([w / total for w in weights])


def assert_transforms(proc, flip: bool = False) -> None:
    flip_step = ", RandomHorizontalFlip(probability=0.5)" if flip else ""
    assert repr(proc.transform["joint"]) == f"Transform(ToGrayscale(probability=0.05){flip_step})"
    assert repr(proc.transform["train"]) == (
        f"Transform(ToTensorAndJitter(brightness_jitter=0.2, normalize=True){flip_step}, {IMAGENET_NORMALIZE})"
    )


def assert_step_lr(trainer, step_size: int = 15, gamma: float = 0.2) -> None:
    scheduler = trainer.lr_scheduler
    assert type(scheduler) is torch.optim.lr_scheduler.StepLR
    assert (scheduler.step_size, scheduler.gamma) == (step_size, gamma)


# ---------------------------------------------------------------------------------------------------------------
# common


def test_setting_records_default_and_override():
    s = types.SimpleNamespace(batch_size=None, num_workers=0)
    common.start(s, "d")
    assert common.setting(s, "batch_size", 26) == 26 and s.batch_size == 26
    assert common.setting(s, "num_workers", 8) == 0 and s.num_workers == 0
    assert common.setting(s, "num_workers", 3) == 0  # the first default is the recipe's
    assert s.recipe_defaults == {"batch_size": 26, "num_workers": 8} and s.description == "d"
    assert common.crop_settings(s, 5.0, 18) == (18, 288)
    s.feature_sz, s.output_sz = 4, None
    common.start(s, "d")
    assert common.crop_settings(s, 6.0, 22) == (4, 64)
    assert s.recipe_defaults == {"search_area_factor": 6.0, "feature_sz": 22, "output_sz": 352}


def test_take_datasets_override_is_removed_and_recorded(synthetic):
    s = types.SimpleNamespace(train_datasets_override=[synthetic, (synthetic, 3)])

    def never():
        raise AssertionError("the recipe's datasets must not be built")

    assert common.take_datasets(s, "train", never) == ([synthetic, synthetic], [1.0, 3.0])
    assert not hasattr(s, "train_datasets_override")
    assert s.train_datasets == [["synthetic_train", 1.0], ["synthetic_train", 3.0]]
    assert common.take_datasets(s, "val", lambda: [(synthetic, 2)]) == ([synthetic], [2.0])
    with pytest.raises(ValueError, match="'train' or 'val'"):
        common.take_datasets(s, "test", never)


def test_all_recipes_are_listed():
    names = set(available_settings())
    expected = {"bbreg/atom", "dimp/dimp18", "dimp/dimp50", "dimp/prdimp18", "dimp/prdimp50", "dimp/super_dimp"}
    assert expected | {"dimp/dimp_tiny_synthetic"} <= names


# ---------------------------------------------------------------------------------------------------------------
# recipes


class NamedDataset:
    """A dataset under another name (stands in for LaSOT, GOT-10k, ... built by the recipe)."""

    def __init__(self, dataset, name: str):
        self._dataset, self._name = dataset, name

    def get_name(self) -> str:
        return self._name

    def __getattr__(self, attr):
        return getattr(self._dataset, attr)

    def __len__(self) -> int:
        return len(self._dataset)


def test_atom(synthetic, workspace):
    s = tiny_settings(2, synthetic)
    trainer, net = train_one_epoch("bbreg", "atom", s, workspace, net_type="ATOMnet")
    assert s.recipe_defaults | {"samples_per_epoch": None, "val_samples_per_epoch": None} == {
        "batch_size": 64,
        "num_workers": 8,
        "print_interval": 1,
        "search_area_factor": 5.0,
        "feature_sz": 18,
        "output_sz": 288,
        "center_jitter_factor": {"train": 0, "test": 4.5},
        "scale_jitter_factor": {"train": 0, "test": 0.5},
        "samples_per_epoch": None,
        "val_samples_per_epoch": None,
        "val_epoch_interval": 5,
        "normalize_mean": [0.485, 0.456, 0.406],
        "normalize_std": [0.229, 0.224, 0.225],
        "backbone_pretrained": True,
        "multi_gpu": False,
        "max_epochs": 50,
        "fail_safe": True,
        "find_unused_parameters": True,
    }
    # Samples per epoch follow the batch size: 1000 and 500 batches.
    assert (s.recipe_defaults["samples_per_epoch"], s.recipe_defaults["val_samples_per_epoch"]) == (2000, 1000)
    assert s.train_datasets == [["synthetic_train", 1.0]] and s.output_sz == 32
    assert_loaders(trainer, sampler.ATOMSampler, 50, (1, 1), [1.0], "interval")
    proc = trainer.loaders[0].dataset.processing
    assert type(proc) is processing.ATOMProcessing and proc.mode == "sequence"
    assert proc.proposal_params == {"min_iou": 0.1, "boxes_per_frame": 16, "sigma_factor": [0.01, 0.05, 0.1, 0.2, 0.3]}
    assert_transforms(proc)
    assert type(trainer.actor) is AtomActor and type(trainer.actor.objective) is nn.MSELoss
    # Only the IoU predictor is optimised.
    (group,) = trainer.optimizer.param_groups
    assert group["initial_lr"] == 1e-3 and same_params(group, trainer.actor.net.bb_regressor)
    assert_step_lr(trainer)
    assert_official_network(net, "atom_default")


def test_dimp18_builds_the_original_datasets(synthetic, workspace, monkeypatch):
    calls = []

    def stand_in(cls_name, dataset_name):
        def build(*args, **kwargs):
            calls.append((cls_name, args, kwargs))
            return NamedDataset(synthetic, dataset_name)

        return build

    names = {"Lasot": "lasot", "Got10k": "got10k", "TrackingNet": "trackingnet", "MSCOCOSeq": "coco"}
    for cls_name, dataset_name in names.items():
        monkeypatch.setattr(common, cls_name, stand_in(cls_name, dataset_name))
    s = tiny_settings(2)
    trainer, net = train_one_epoch("dimp", "dimp18", s, workspace)

    env = s.env
    assert calls == [
        ("Lasot", (env.lasot_dir,), {"split": "train"}),
        ("Got10k", (env.got10k_dir,), {"split": "vottrain"}),
        ("TrackingNet", (env.trackingnet_dir,), {"set_ids": [0, 1, 2, 3]}),
        ("MSCOCOSeq", (env.coco_dir,), {}),
        ("Got10k", (env.got10k_dir,), {"split": "votval"}),
    ]
    assert s.train_datasets == [["lasot", 0.25], ["got10k", 1.0], ["trackingnet", 1.0], ["coco", 1.0]]
    assert s.val_datasets == [["got10k", 1.0]]
    assert_loaders(trainer, sampler.DiMPSampler, 30, (3, 3), [0.25, 1, 1, 1], "causal")

    defaults = s.recipe_defaults
    assert (defaults["batch_size"], defaults["num_workers"], defaults["max_epochs"]) == (26, 8, 50)
    assert (defaults["samples_per_epoch"], defaults["val_samples_per_epoch"]) == (26000, 5000)
    assert (defaults["feature_sz"], defaults["output_sz"], defaults["search_area_factor"]) == (18, 288, 5.0)
    assert defaults["center_jitter_factor"] == {"train": 3, "test": 4.5}
    assert defaults["scale_jitter_factor"] == {"train": 0.25, "test": 0.5}
    assert defaults["backbone_pretrained"] is True and s.backbone_pretrained is False

    proc = trainer.loaders[0].dataset.processing
    assert type(proc) is processing.DiMPProcessing and (proc.crop_type, proc.mode) == ("replicate", "sequence")
    assert proc.proposal_params["boxes_per_frame"] == 8
    assert proc.label_function_params == {"feature_sz": 2, "sigma_factor": 0.25 / 5.0, "kernel_sz": 4}
    assert_transforms(proc)

    actor = trainer.actor
    assert type(actor) is DiMPActor and actor.loss_weight == DIMP_LOSS_WEIGHT
    assert type(actor.objective["test_clf"]) is LBHinge and actor.objective["test_clf"].threshold == 0.05
    assert group_lrs(trainer) == [5e-5, 5e-4, 5e-5, 1e-3, 2e-4]
    parts = [
        actor.net.classifier.filter_initializer,
        actor.net.classifier.filter_optimizer,
        actor.net.classifier.feature_extractor,
        actor.net.bb_regressor,
        actor.net.feature_extractor,
    ]
    assert all(same_params(g, m) for g, m in zip(trainer.optimizer.param_groups, parts))
    assert_step_lr(trainer)
    # The label width scales with the feature size: output_sigma * feature_sz.
    assert net.constructor.kwds["init_gauss_sigma"] == pytest.approx(0.05 * 2)
    assert_official_network(net, "dimp18", ignore=("init_gauss_sigma",))


@pytest.mark.slow
def test_dimp50(synthetic, workspace):
    s = tiny_settings(2, synthetic)
    trainer, net = train_one_epoch("dimp", "dimp50", s, workspace)
    assert s.recipe_defaults["batch_size"] == 10 and s.recipe_defaults["samples_per_epoch"] == 26000
    assert_loaders(trainer, sampler.DiMPSampler, 30, (3, 3), [1.0], "causal")
    assert trainer.actor.loss_weight == DIMP_LOSS_WEIGHT
    assert group_lrs(trainer) == [5e-5, 5e-4, 5e-5, 2e-4, 2e-5]
    groups = trainer.optimizer.param_groups
    assert same_params(groups[3], trainer.actor.net.bb_regressor)
    assert same_params(groups[4], trainer.actor.net.feature_extractor)
    assert_step_lr(trainer)
    assert_official_network(net, "dimp50", ignore=("init_gauss_sigma",))


def assert_prdimp(trainer, s, batch_size: int) -> None:
    assert s.recipe_defaults["batch_size"] == batch_size and s.recipe_defaults["samples_per_epoch"] == 26000
    assert s.print_stats == ["Loss/total", "Loss/bb_ce", "ClfTrain/clf_ce"]
    assert_loaders(trainer, sampler.DiMPSampler, 200, (3, 3), [1.0], "causal")
    proc = trainer.loaders[0].dataset.processing
    assert type(proc) is processing.KLDiMPProcessing and proc.crop_type == "replicate"
    assert proc.proposal_params == {
        "boxes_per_frame": 128,
        "gt_sigma": (0.05, 0.05),
        "proposal_sigma": [(0.05, 0.05), (0.5, 0.5)],
    }
    assert proc.label_density_params == {**proc.label_function_params, "normalize": True}
    assert_transforms(proc)
    actor = trainer.actor
    assert type(actor) is KLDiMPActor
    assert actor.loss_weight == {"bb_ce": 0.0025, "clf_ce": 0.25, "clf_ce_init": 0.25, "clf_ce_iter": 1.0}
    assert type(actor.objective["bb_ce"]) is KLRegression and type(actor.objective["clf_ce"]) is KLRegressionGrid
    assert group_lrs(trainer) == [1e-3, 1e-3, 2e-5]
    parts = [actor.net.classifier, actor.net.bb_regressor, actor.net.feature_extractor]
    assert all(same_params(g, m) for g, m in zip(trainer.optimizer.param_groups, parts))
    assert_step_lr(trainer)


@pytest.mark.slow
def test_prdimp18(synthetic, workspace):
    s = tiny_settings(2, synthetic)
    trainer, net = train_one_epoch("dimp", "prdimp18", s, workspace)
    assert_prdimp(trainer, s, 26)
    assert net.constructor.kwds["gauss_sigma"] == pytest.approx(0.05 * 2)
    assert_official_network(net, "prdimp18", ignore=("gauss_sigma",))


@pytest.mark.slow
def test_prdimp50(synthetic, workspace):
    s = tiny_settings(2, synthetic)
    trainer, net = train_one_epoch("dimp", "prdimp50", s, workspace)
    assert_prdimp(trainer, s, 10)
    assert_official_network(net, "prdimp50", ignore=("gauss_sigma",))


@pytest.mark.slow
def test_super_dimp(synthetic, workspace):
    s = tiny_settings(2, synthetic)
    trainer, net = train_one_epoch("dimp", "super_dimp", s, workspace)
    defaults = s.recipe_defaults
    assert (defaults["batch_size"], defaults["samples_per_epoch"]) == (20, 40000)
    assert defaults["val_samples_per_epoch"] == 10000
    assert (defaults["feature_sz"], defaults["output_sz"], defaults["search_area_factor"]) == (22, 352, 6.0)
    assert defaults["center_jitter_factor"] == {"train": 3, "test": 5.5}
    assert_loaders(trainer, sampler.DiMPSampler, 200, (3, 3), [1.0], "causal")
    proc = trainer.loaders[0].dataset.processing
    assert type(proc) is processing.KLDiMPProcessing
    assert (proc.crop_type, proc.max_scale_change, proc.search_area_factor) == ("inside_major", 1.5, 6.0)
    assert proc.label_density_params == proc.label_function_params  # not normalised
    assert proc.label_function_params["sigma_factor"] == pytest.approx(0.25 / 6.0)
    assert_transforms(proc, flip=True)

    actor = trainer.actor
    assert type(actor) is KLDiMPActor
    assert actor.loss_weight == {"bb_ce": 0.01, "test_clf": 100, "test_init_clf": 100, "test_iter_clf": 400}
    assert type(actor.objective["bb_ce"]) is KLRegression and actor.objective["test_clf"].threshold == 0.05
    assert group_lrs(trainer) == [5e-5, 5e-4, 5e-5, 1e-3, 2e-5]
    backbone = actor.net.feature_extractor
    assert same_params(trainer.optimizer.param_groups[4], backbone.layer3)
    for name in ("conv1", "bn1", "layer1", "layer2"):
        module = getattr(backbone, name)
        assert not any(p.requires_grad for p in module.parameters()) and not module.training
    assert all(p.requires_grad for p in backbone.layer3.parameters())
    optimised = {id(p) for g in trainer.optimizer.param_groups for p in g["params"]}
    assert not optimised & {id(p) for p in backbone.layer4.parameters()}
    assert_step_lr(trainer)
    assert_official_network(net, "super_dimp", ignore=("init_gauss_sigma",))


def test_dimp_tiny_synthetic(synthetic_root, workspace):
    # No dataset override: the recipe's own split logic, on a tiny split (3 sequences, the last one validates).
    s = tiny_settings(
        2, synthetic_root=synthetic_root, synthetic_params=dict(TINY), num_val_sequences=1, val_epoch_interval=1
    )
    trainer, net = train_one_epoch("dimp", "dimp_tiny_synthetic", s, workspace)
    assert torch.get_num_threads() == 1
    train_set, val_set = (loader.dataset.datasets[0] for loader in trainer.loaders)
    assert train_set.sequence_list == ["syntrain_0000", "syntrain_0001"]
    assert val_set.sequence_list == ["syntrain_0002"]
    assert "val" in trainer.stats and trainer.stats["val"]["Loss/total"].history  # validated in epoch 1

    defaults = s.recipe_defaults
    assert (defaults["batch_size"], defaults["num_workers"], defaults["torch_threads"]) == (16, 1, 1)
    assert (defaults["feature_sz"], defaults["output_sz"], defaults["search_area_factor"]) == (8, 128, 4.0)
    assert (defaults["max_epochs"], defaults["samples_per_epoch"], defaults["learning_rate"]) == (20, 2000, 1e-3)
    assert_loaders(trainer, sampler.DiMPSampler, 30, (3, 3), [1.0], "causal", val_interval=1)
    actor = trainer.actor
    assert type(actor) is DiMPActor and actor.loss_weight == DIMP_LOSS_WEIGHT
    (group,) = trainer.optimizer.param_groups
    assert group["initial_lr"] == 1e-3 and same_params(group, actor.net)
    # Rate / 5 after 60 % and 85 % of the epochs (here both round up to the single epoch).
    assert dict(trainer.lr_scheduler.milestones) == {1: 1} and trainer.lr_scheduler.gamma == 0.2
    assert group["lr"] == pytest.approx(1e-3 * 0.2)
    assert f"{net.constructor.fun_module}.{net.constructor.fun_name}" == "ltr.models.tracking.dimpnet.dimpnet_tiny"
    assert net.constructor.kwds == {"filter_size": 4, "init_gauss_sigma": pytest.approx(0.25 / 4.0 * 2)}
