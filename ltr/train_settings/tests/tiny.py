"""Smoke setting: train a tiny IoU regressor end to end on generated images, with no dataset on disk.

``python -m ltr.run_training tests tiny`` (or ``torchrun --nproc_per_node 2 -m ltr.run_training tests tiny``)
exercises the whole training stack in seconds on a CPU: settings, loaders yielding ``(frames, batch, ...)``
``TensorDict`` batches, :class:`ltr.actors.AtomActor`, :class:`ltr.trainers.LTRTrainer` with a validation loader,
the learning-rate scheduler, per-epoch checkpoints (loadable by ``ltr.admin.loading.load_network``) and, under
torchrun, distributed data-parallel training. It learns nothing useful.

Each sample is a noisy image with a bright box; the network predicts, for proposal boxes in a test image, their
IoU with the target (as ``2 * IoU - 1``, like ATOM's ``proposal_iou``), given the box in a train image. Samples
are drawn from torch's global generator, so a run is reproducible given ``--seed`` and resumes exactly.

Attributes read from ``settings`` (set before ``run`` to change them): ``batch_size`` [4], ``tiny_epochs`` [2],
``tiny_train_batches`` [4] and ``tiny_val_batches`` [2] per epoch, ``tiny_image_sz`` [32],
``tiny_num_proposals`` [4], ``tiny_val_interval`` [2] (epochs between validation passes).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

from ltr.actors import AtomActor
from ltr.admin import distributed
from ltr.admin.model_constructor import model_constructor
from ltr.trainers import LTRTrainer
from pytracking.libs.tensordict import TensorDict

__all__ = ["GeneratedBoxDataset", "GeneratedLoader", "TinyIoUNet", "box_iou", "run", "stack_batch", "tiny_iou_net"]


class TinyIoUNet(nn.Module):
    """A few convolutions for image features and an MLP scoring each proposal against the reference box.

    Args:
        feature_dim: channels of the image features.
        hidden_dim: width of the MLP.
        dropout: dropout probability in the MLP (makes the forward pass consume random numbers).
    """

    def __init__(self, feature_dim: int = 8, hidden_dim: int = 16, dropout: float = 0.1):
        super().__init__()
        self.feature_extractor = nn.Sequential(
            nn.Conv2d(3, feature_dim, 3, stride=2, padding=1),
            nn.BatchNorm2d(feature_dim),
            nn.ReLU(),
            nn.Conv2d(feature_dim, feature_dim, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.bb_regressor = nn.Sequential(
            nn.Linear(2 * feature_dim + 8, hidden_dim), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden_dim, 1)
        )

    def forward(
        self, train_imgs: torch.Tensor, test_imgs: torch.Tensor, train_bb: torch.Tensor, test_proposals: torch.Tensor
    ) -> torch.Tensor:
        """Score proposals.

        Args:
            train_imgs: (n_train, B, 3, H, W).
            test_imgs: (n_test, B, 3, H, W).
            train_bb: (n_train, B, 4) boxes ``[x, y, w, h]`` in pixels (the first frame's is used).
            test_proposals: (n_test, B, P, 4) boxes ``[x, y, w, h]`` in pixels.

        Returns:
            Predicted ``2 * IoU - 1`` (n_test, B, P).
        """
        n_train, batch = train_imgs.shape[:2]
        n_test, _, num_proposals = test_proposals.shape[:3]
        height, width = train_imgs.shape[-2:]
        train_feat = self.feature_extractor(train_imgs.reshape(-1, *train_imgs.shape[-3:]))
        train_feat = train_feat.reshape(n_train, batch, -1).mean(dim=0)
        test_feat = self.feature_extractor(test_imgs.reshape(-1, *test_imgs.shape[-3:])).reshape(n_test, batch, -1)
        scale = train_bb.new_tensor([width, height, width, height])
        reference = (train_bb[0] / scale).expand(n_test, num_proposals, batch, 4).transpose(1, 2)
        expand = (n_test, batch, num_proposals, -1)
        x = torch.cat(
            [
                train_feat[None, :, None].expand(*expand),
                test_feat[:, :, None].expand(*expand),
                reference,
                test_proposals / scale,
            ],
            dim=-1,
        )
        return self.bb_regressor(x).squeeze(-1)


@model_constructor
def tiny_iou_net(feature_dim: int = 8, hidden_dim: int = 16, dropout: float = 0.1) -> TinyIoUNet:
    """Build :class:`TinyIoUNet` (recorded as the checkpoint's constructor)."""
    return TinyIoUNet(feature_dim=feature_dim, hidden_dim=hidden_dim, dropout=dropout)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of boxes ``[x, y, w, h]`` (..., 4), broadcast against each other."""
    tl = torch.maximum(a[..., :2], b[..., :2])
    br = torch.minimum(a[..., :2] + a[..., 2:], b[..., :2] + b[..., 2:])
    inter = (br - tl).clamp(min=0).prod(dim=-1)
    union = a[..., 2:].prod(dim=-1) + b[..., 2:].prod(dim=-1) - inter
    return inter / union


class GeneratedBoxDataset(Dataset):
    """Random samples (one train and one test frame) in the layout of ATOM's processing output.

    Every item is drawn anew from torch's global generator, so the data follows ``torch.manual_seed`` and the
    generator state saved in checkpoints.

    Args:
        num_samples: items per epoch.
        image_sz: side of the square images.
        num_proposals: proposals per test frame.
    """

    def __init__(self, num_samples: int, image_sz: int = 32, num_proposals: int = 4):
        self.num_samples = num_samples
        self.image_sz = image_sz
        self.num_proposals = num_proposals

    def __len__(self) -> int:
        return self.num_samples

    def _frame(self, box: torch.Tensor) -> torch.Tensor:
        sz = self.image_sz
        image = 0.1 * torch.randn(3, sz, sz)
        x0, y0, w, h = box.round().long().tolist()
        image[:, y0 : y0 + max(h, 1), x0 : x0 + max(w, 1)] += 1.0
        return image

    def __getitem__(self, index: int) -> TensorDict:
        """A sample: ``train_images`` (1, 3, S, S), ``train_anno`` (1, 4), ``test_images``, ``test_anno``,
        ``test_proposals`` (1, P, 4) and ``proposal_iou`` (1, P)."""
        sz = self.image_sz
        size = (0.2 + 0.3 * torch.rand(2)) * sz
        pos = torch.rand(2) * (sz - size)
        train_box = torch.cat([pos, size])
        test_box = train_box + torch.cat([0.05 * sz * torch.randn(2), torch.zeros(2)])
        test_box[:2] = test_box[:2].clamp(min=0).minimum(sz - test_box[2:])
        jitter = 0.3 * torch.randn(self.num_proposals, 4) * test_box[2:].repeat(2)
        proposals = test_box + jitter
        proposals[:, 2:] = proposals[:, 2:].clamp(min=1.0)
        return TensorDict(
            train_images=self._frame(train_box)[None],
            train_anno=train_box[None],
            test_images=self._frame(test_box)[None],
            test_anno=test_box[None],
            test_proposals=proposals[None],
            proposal_iou=(2 * box_iou(proposals, test_box) - 1)[None],
        )


def stack_batch(samples: list[TensorDict]) -> TensorDict:
    """Collate samples into a batch along dimension 1: ``(frames, batch, ...)``."""
    return TensorDict((key, torch.stack([s[key] for s in samples], dim=1)) for key in samples[0])


class GeneratedLoader(DataLoader):
    """``DataLoader`` with the attributes the trainer reads (as ``ltr.data.LTRLoader`` with ``stack_dim=1``).

    Args:
        name: loader name (statistics and TensorBoard group).
        dataset: the dataset.
        training: optimize on this loader (else evaluate only).
        batch_size: samples per batch.
        epoch_interval: run every this many epochs.
        **kwargs: passed to ``DataLoader`` (``shuffle``, ``sampler``, ``num_workers``, ...).
    """

    def __init__(
        self,
        name: str,
        dataset: Dataset,
        training: bool = True,
        batch_size: int = 1,
        epoch_interval: int = 1,
        **kwargs: Any,
    ):
        super().__init__(dataset, batch_size=batch_size, collate_fn=stack_batch, **kwargs)
        self.name = name
        self.training = training
        self.epoch_interval = epoch_interval
        self.stack_dim = 1


def _default(settings, name: str, value: Any) -> Any:
    if getattr(settings, name, None) is None:
        setattr(settings, name, value)
    return getattr(settings, name)


def run(settings) -> LTRTrainer:
    """Train the tiny network for ``settings.tiny_epochs`` epochs (resuming from the latest checkpoint).

    Returns:
        The trainer (its ``actor.net`` is the trained network).
    """
    settings.description = "Smoke test: tiny IoU regressor trained on generated boxes."
    batch_size = _default(settings, "batch_size", 4)
    epochs = _default(settings, "tiny_epochs", 2)
    train_batches = _default(settings, "tiny_train_batches", 4)
    val_batches = _default(settings, "tiny_val_batches", 2)
    image_sz = _default(settings, "tiny_image_sz", 32)
    num_proposals = _default(settings, "tiny_num_proposals", 4)
    val_interval = _default(settings, "tiny_val_interval", 2)
    _default(settings, "print_interval", 1)

    # batch_size is per process; each process gets its share of the epoch's samples.
    world = distributed.get_world_size()
    train_set = GeneratedBoxDataset(train_batches * batch_size * world, image_sz, num_proposals)
    val_set = GeneratedBoxDataset(val_batches * batch_size * world, image_sz, num_proposals)
    loader_train = GeneratedLoader(
        "train", train_set, training=True, batch_size=batch_size, **distributed.loader_kwargs(train_set, shuffle=True)
    )
    loader_val = GeneratedLoader(
        "val",
        val_set,
        training=False,
        batch_size=batch_size,
        epoch_interval=val_interval,
        **distributed.loader_kwargs(val_set, shuffle=False),
    )

    net = tiny_iou_net()
    actor = AtomActor(net=net, objective=nn.MSELoss())
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    lr_scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    trainer = LTRTrainer(actor, [loader_train, loader_val], optimizer, settings, lr_scheduler)
    trainer.train(epochs, load_latest=True, fail_safe=True)
    return trainer
