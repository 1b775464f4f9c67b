"""Building blocks shared by the train settings, and the overrides through which a run can be shrunk.

Every ``run(settings)`` of ``bbreg/atom`` and ``dimp/*`` reads its hyper-parameters through :func:`setting`: an
attribute already set on ``settings`` (not ``None``) before ``run`` replaces the recipe's value, so a test or a
quick experiment can shrink a run without editing the settings file. Any value read that way can be overridden;
the ones meant for it are

* ``batch_size`` (per process under torchrun), ``num_workers``, ``max_epochs``, ``samples_per_epoch`` /
  ``val_samples_per_epoch``, ``val_epoch_interval``, ``print_interval``;
* ``feature_sz`` (the crop side is then ``16 * feature_sz``) and ``output_sz`` (the crop side itself);
* ``backbone_pretrained`` (default True as in the original: torchvision's ImageNet weights are loaded);
* ``multi_gpu`` (wrap the network in :class:`~ltr.admin.multigpu.MultiGPU`), ``fail_safe`` (retry crashed
  epochs, default True), ``find_unused_parameters`` (DDP; default True, since ``layer4`` of the backbones gets no
  gradient);
* ``train_datasets_override`` / ``val_datasets_override``: lists of datasets, or of ``(dataset, weight)`` pairs,
  used instead of the recipe's datasets (which are then not even constructed).

The value in use is stored back on ``settings`` (so it lands in the checkpoints), and the recipe's own value in
``settings.recipe_defaults[name]``. The dataset overrides are removed from ``settings`` when read: settings are
pickled into every checkpoint, and checkpoints may only hold plain data; ``settings.train_datasets`` /
``settings.val_datasets`` record ``[name, weight]`` of the datasets in use instead. Calling ``run`` again with the
same ``settings`` therefore falls back to the recipe's datasets unless the overrides are set anew.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn as nn

from ltr.admin import distributed
from ltr.admin.multigpu import MultiGPU
from ltr.data import LTRLoader
from ltr.data import transforms as tfm
from ltr.dataset import Got10k, Lasot, MSCOCOSeq, TrackingNet
from ltr.trainers import LTRTrainer

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "FEATURE_STRIDE",
    "start",
    "setting",
    "take_datasets",
    "standard_train_datasets",
    "got10k_val_datasets",
    "take_standard_datasets",
    "crop_settings",
    "output_sigma",
    "label_function_params",
    "imagenet_transforms",
    "sequence_processing",
    "make_loaders",
    "wrap_network",
    "train",
]

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
#: Stride of the classification features (layer3) of the ResNet backbones: crop side = 16 * feature size.
FEATURE_STRIDE = 16

WeightedDatasets = list[tuple[Any, float]]


def start(settings: Any, description: str) -> None:
    """Begin a recipe: set ``settings.description`` and clear ``settings.recipe_defaults``."""
    settings.description = description
    settings.recipe_defaults = {}


def setting(settings: Any, name: str, default: Any) -> Any:
    """The value of hyper-parameter ``name``: ``settings.<name>`` when set (not None), else ``default``.

    The value in use is written back to ``settings.<name>`` (a path as a string: settings are pickled into the
    checkpoints, which hold plain data only), and the first default given for ``name`` since :func:`start` is
    recorded in ``settings.recipe_defaults[name]``.

    Args:
        settings: the run's ``Settings``.
        name: attribute name.
        default: the recipe's value.

    Returns:
        The value in use.
    """
    defaults = getattr(settings, "recipe_defaults", None)
    if defaults is None:
        defaults = {}
        settings.recipe_defaults = defaults
    defaults.setdefault(name, default)
    value = getattr(settings, name, None)
    if value is None:
        value = default
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    setattr(settings, name, value)
    return value


def _weighted(entries: Sequence[Any]) -> WeightedDatasets:
    """``(dataset, weight)`` pairs from datasets (weight 1) and/or pairs."""
    out = []
    for entry in entries:
        if isinstance(entry, tuple):
            dataset, weight = entry
            out.append((dataset, float(weight)))
        else:
            out.append((entry, 1.0))
    if not out:
        raise ValueError("an empty list of datasets was given")
    return out


def take_datasets(
    settings: Any, kind: str, build: Callable[[], Sequence[tuple[Any, float]]]
) -> tuple[list[Any], list[float]]:
    """The datasets of the ``'train'`` or ``'val'`` sampler and their sampling weights.

    ``settings.<kind>_datasets_override`` (datasets, or ``(dataset, weight)`` pairs; removed from ``settings``)
    replaces the recipe's datasets, which are then never built. ``settings.<kind>_datasets`` records
    ``[[name, weight], ...]`` of the datasets in use.

    Args:
        settings: the run's ``Settings``.
        kind: ``'train'`` or ``'val'``.
        build: returns the recipe's ``(dataset, weight)`` pairs (called only without an override).

    Returns:
        ``(datasets, weights)``.
    """
    if kind not in ("train", "val"):
        raise ValueError(f"kind must be 'train' or 'val', got {kind!r}")
    attribute = f"{kind}_datasets_override"
    override = getattr(settings, attribute, None)
    if hasattr(settings, attribute):
        delattr(settings, attribute)
    pairs = _weighted(override) if override is not None else _weighted(list(build()))
    datasets = [d for d, _ in pairs]
    weights = [w for _, w in pairs]
    setattr(settings, f"{kind}_datasets", [[d.get_name(), w] for d, w in pairs])
    return datasets, weights


def standard_train_datasets(env: Any, weights: Sequence[float] = (1, 1, 1, 1)) -> WeightedDatasets:
    """The training data of the ATOM / DiMP recipes: LaSOT ``train``, GOT-10k ``vottrain``, TrackingNet sets 0-3
    and COCO (:class:`~ltr.dataset.MSCOCOSeq`), with sampling ``weights`` in that order.

    Args:
        env: the environment settings (``lasot_dir``, ``got10k_dir``, ``trackingnet_dir``, ``coco_dir``).
        weights: relative sampling probabilities of the four datasets.
    """
    datasets = [
        Lasot(env.lasot_dir, split="train"),
        Got10k(env.got10k_dir, split="vottrain"),
        TrackingNet(env.trackingnet_dir, set_ids=list(range(4))),
        MSCOCOSeq(env.coco_dir),
    ]
    return list(zip(datasets, (float(w) for w in weights), strict=True))


def got10k_val_datasets(env: Any) -> WeightedDatasets:
    """The validation data of the ATOM / DiMP recipes: GOT-10k ``votval`` (the part of GOT-10k train held out
    from ``vottrain``)."""
    return [(Got10k(env.got10k_dir, split="votval"), 1.0)]


def take_standard_datasets(
    settings: Any, train_weights: Sequence[float]
) -> tuple[tuple[list[Any], list[float]], tuple[list[Any], list[float]]]:
    """:func:`take_datasets` for both samplers of the ATOM / DiMP recipes: :func:`standard_train_datasets` with
    sampling weights ``train_weights`` for training, :func:`got10k_val_datasets` for validation.

    Returns:
        ``(train_data, val_data)``, each ``(datasets, weights)``.
    """
    train_data = take_datasets(settings, "train", lambda: standard_train_datasets(settings.env, train_weights))
    val_data = take_datasets(settings, "val", lambda: got10k_val_datasets(settings.env))
    return train_data, val_data


def crop_settings(settings: Any, search_area_factor: float, feature_sz: int) -> tuple[int, int]:
    """Set the crop geometry: ``search_area_factor``, ``feature_sz`` and ``output_sz`` (all overridable).

    Args:
        settings: the run's ``Settings``.
        search_area_factor: crop side over the target's geometric-mean side.
        feature_sz: side of the classification feature map (stride 16).

    Returns:
        ``(feature_sz, output_sz)`` in use; ``output_sz`` defaults to ``16 * feature_sz``.
    """
    setting(settings, "search_area_factor", search_area_factor)
    feature_sz = setting(settings, "feature_sz", feature_sz)
    output_sz = setting(settings, "output_sz", feature_sz * FEATURE_STRIDE)
    # The recorded default of output_sz follows the original feature size, not an overridden one.
    settings.recipe_defaults["output_sz"] = settings.recipe_defaults["feature_sz"] * FEATURE_STRIDE
    return feature_sz, output_sz


def output_sigma(settings: Any) -> float:
    """Sigma of the Gaussian labels relative to the crop side: ``output_sigma_factor / search_area_factor``."""
    return settings.output_sigma_factor / settings.search_area_factor


def label_function_params(settings: Any, feature_sz: int) -> dict[str, Any]:
    """The Gaussian label parameters of the DiMP processings: ``feature_sz``, sigma :func:`output_sigma` and the
    filter's ``kernel_sz`` (``settings.target_filter_sz``)."""
    return {"feature_sz": feature_sz, "sigma_factor": output_sigma(settings), "kernel_sz": settings.target_filter_sz}


def imagenet_transforms(
    settings: Any, grayscale_probability: float = 0.05, brightness_jitter: float = 0.2, flip: bool = False
) -> tuple[tfm.Transform, tfm.Transform, tfm.Transform]:
    """The standard augmentation of the DiMP/ATOM recipes, with ImageNet normalisation.

    Args:
        settings: the run's ``Settings`` (``normalize_mean`` / ``normalize_std`` are set on it).
        grayscale_probability: probability of turning a whole sample gray (joint transform).
        brightness_jitter: per-crop brightness factor range ``1 +- brightness_jitter`` (training crops).
        flip: also flip the whole sample, and then each training crop, horizontally with probability 0.5
            (SuperDiMP).

    Returns:
        ``(joint, train, val)`` transforms.
    """
    mean = setting(settings, "normalize_mean", list(IMAGENET_MEAN))
    std = setting(settings, "normalize_std", list(IMAGENET_STD))
    joint_steps: list[tfm.TransformBase] = [tfm.ToGrayscale(probability=grayscale_probability)]
    train_steps: list[tfm.TransformBase] = [tfm.ToTensorAndJitter(brightness_jitter)]
    if flip:
        joint_steps.append(tfm.RandomHorizontalFlip(probability=0.5))
        train_steps.append(tfm.RandomHorizontalFlip(probability=0.5))
    train_steps.append(tfm.Normalize(mean=mean, std=std))
    joint = tfm.Transform(*joint_steps)
    train_transform = tfm.Transform(*train_steps)
    val_transform = tfm.Transform(tfm.ToTensor(), tfm.Normalize(mean=mean, std=std))
    return joint, train_transform, val_transform


def sequence_processing(
    settings: Any,
    processing_cls: Callable[..., Any],
    output_sz: int,
    transforms: tuple[tfm.Transform, tfm.Transform, tfm.Transform],
    **kwargs: Any,
) -> tuple[Any, Any]:
    """The training and validation processing of a recipe (``mode='sequence'``).

    Both crop ``settings.search_area_factor`` times the target size to ``output_sz`` with the jitter of
    ``settings.center_jitter_factor`` / ``settings.scale_jitter_factor`` and share the joint transform; they
    differ only in the per-crop transform.

    Args:
        settings: the run's ``Settings``.
        processing_cls: e.g. :class:`~ltr.data.processing.DiMPProcessing`.
        output_sz: crop side in pixels.
        transforms: ``(joint, train, val)`` from :func:`imagenet_transforms`.
        **kwargs: further processing arguments (``proposal_params``, ``label_function_params``, ...).

    Returns:
        ``(processing_train, processing_val)``.
    """
    transform_joint, transform_train, transform_val = transforms

    def build(transform: tfm.Transform) -> Any:
        return processing_cls(
            search_area_factor=settings.search_area_factor,
            output_sz=output_sz,
            center_jitter_factor=settings.center_jitter_factor,
            scale_jitter_factor=settings.scale_jitter_factor,
            mode="sequence",
            transform=transform,
            joint_transform=transform_joint,
            **kwargs,
        )

    return build(transform_train), build(transform_val)


def make_loaders(
    settings: Any,
    sampler_cls: Callable[..., torch.utils.data.Dataset],
    train_data: tuple[list[Any], list[float]],
    val_data: tuple[list[Any], list[float]],
    processing_train: Callable,
    processing_val: Callable,
    **sampler_kwargs: Any,
) -> list[LTRLoader]:
    """The ``'train'`` and ``'val'`` samplers and loaders.

    The samplers draw ``settings.samples_per_epoch`` / ``settings.val_samples_per_epoch`` samples; batches of
    ``settings.batch_size`` samples are stacked on dimension 1 and incomplete batches dropped; validation runs
    every ``settings.val_epoch_interval`` epochs. Under torchrun each process draws its share of the samples
    (``batch_size`` is per process).

    Args:
        settings: the run's ``Settings``.
        sampler_cls: e.g. :class:`~ltr.data.sampler.DiMPSampler`.
        train_data: ``(datasets, weights)`` of the training sampler (see :func:`take_datasets`).
        val_data: the same for validation.
        processing_train: processing of the training samples.
        processing_val: processing of the validation samples.
        **sampler_kwargs: further sampler arguments (``max_gap``, ``num_test_frames``, ...).

    Returns:
        ``[loader_train, loader_val]``.
    """

    def loader(name: str, data: tuple[list[Any], list[float]], samples: int, processing: Callable) -> LTRLoader:
        training = name == "train"
        dataset = sampler_cls(*data, samples_per_epoch=samples, processing=processing, **sampler_kwargs)
        return LTRLoader(
            name,
            dataset,
            training=training,
            batch_size=settings.batch_size,
            num_workers=settings.num_workers,
            drop_last=True,
            # Training runs every epoch, validation every val_epoch_interval epochs.
            epoch_interval=1 if training else settings.val_epoch_interval,
            stack_dim=1,
            **distributed.loader_kwargs(dataset, shuffle=training),
        )

    return [
        loader("train", train_data, settings.samples_per_epoch, processing_train),
        loader("val", val_data, settings.val_samples_per_epoch, processing_val),
    ]


def wrap_network(settings: Any, net: nn.Module) -> nn.Module:
    """``net`` wrapped in :class:`MultiGPU` (batch dimension 1) when ``settings.multi_gpu`` is set."""
    if setting(settings, "multi_gpu", False):
        return MultiGPU(net, dim=1)
    return net


def train(
    settings: Any,
    actor: Any,
    loaders: Sequence[Any],
    optimizer: torch.optim.Optimizer,
    lr_scheduler: Any,
    max_epochs: int,
    **trainer_kwargs: Any,
) -> LTRTrainer:
    """Build the :class:`LTRTrainer` and train up to ``settings.max_epochs`` (default ``max_epochs``), resuming
    from the latest checkpoint of the run.

    Returns:
        The trainer.
    """
    epochs = setting(settings, "max_epochs", max_epochs)
    fail_safe = setting(settings, "fail_safe", True)
    setting(settings, "find_unused_parameters", True)
    trainer = LTRTrainer(actor, list(loaders), optimizer, settings, lr_scheduler, **trainer_kwargs)
    trainer.train(epochs, load_latest=True, fail_safe=fail_safe)
    return trainer
