"""Collate functions and LTRLoader (ltr.data.loader), including spawned workers."""

from __future__ import annotations

import multiprocessing
import random
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

from ltr.data import LTRLoader, processing, sampler
from ltr.data.loader import collate, ltr_collate, ltr_collate_stack1
from pytracking.libs.tensordict import TensorDict
from pytracking.libs.tensorlist import TensorList

REPO_ROOT = Path(__file__).resolve().parents[3]


def _item(i: int) -> TensorDict:
    return TensorDict(
        {
            "images": torch.full((3, 2, 5, 5), float(i)),  # (frames, C, H, W)
            "anno": np.full((3, 4), i, dtype=np.float32),
            "label": TensorList([torch.full((3, 7), float(i)), torch.full((2,), float(i))]),
            "nested": {"a": torch.tensor([i, i]), "b": [torch.tensor(float(i)), "x"]},
            "count": i,
            "scale": 0.5 * i,
            "flag": i % 2 == 0,
            "np_scalar": np.float32(i),
            "dataset": f"set{i}",
            "test_class": None,
        }
    )


def test_collate_stack_dim_0():
    batch = ltr_collate([_item(i) for i in range(4)])
    assert isinstance(batch, TensorDict)
    assert batch["images"].shape == (4, 3, 2, 5, 5)
    assert batch["anno"].shape == (4, 3, 4) and batch["anno"].dtype == torch.float32
    assert isinstance(batch["label"], TensorList)
    assert batch["label"][0].shape == (4, 3, 7) and batch["label"][1].shape == (4, 2)
    assert isinstance(batch["nested"], dict) and batch["nested"]["a"].shape == (4, 2)
    assert batch["nested"]["b"][0].shape == (4,) and batch["nested"]["b"][1] == ["x"] * 4
    assert torch.equal(batch["count"], torch.tensor([0, 1, 2, 3]))
    assert batch["scale"].dtype == torch.float64 and batch["flag"].dtype == torch.bool
    assert batch["np_scalar"].dtype == torch.float32 and batch["np_scalar"].shape == (4,)
    assert batch["dataset"] == ["set0", "set1", "set2", "set3"]
    assert batch["test_class"] == [None] * 4
    for i in range(4):
        assert torch.all(batch["images"][i] == i) and torch.all(batch["label"][0][i] == i)


def test_collate_stack_dim_1_puts_the_batch_after_the_frames():
    batch = ltr_collate_stack1([_item(i) for i in range(4)])
    assert batch["images"].shape == (3, 4, 2, 5, 5)
    assert batch["anno"].shape == (3, 4, 4)
    assert batch["label"][0].shape == (3, 4, 7) and batch["label"][1].shape == (2, 4)
    assert batch["nested"]["a"].shape == (2, 4)
    assert batch["count"].shape == (4,)  # numbers have no frame dimension
    for i in range(4):
        assert torch.all(batch["images"][:, i] == i) and torch.all(batch["anno"][:, i] == i)


def test_collate_plain_containers_and_errors():
    out = collate([(torch.zeros(2), 1), (torch.ones(2), 2)])
    assert isinstance(out, list) and out[0].shape == (2, 2) and out[1].tolist() == [1, 2]
    od = collate([OrderedDict(a=1), OrderedDict(a=2)])
    assert type(od) is dict and list(od) == ["a"] and torch.equal(od["a"], torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="different lengths"):
        collate([[1, 2], [1]])
    with pytest.raises(TypeError):
        collate([object(), object()])
    with pytest.raises(TypeError):
        collate([np.array(["a"]), np.array(["b"])])
    assert collate([]) == []


def test_loader_attributes_and_stack_dim_validation():
    data = [torch.zeros(2, 3) for _ in range(6)]
    loader = LTRLoader("val", data, training=False, batch_size=3, epoch_interval=5, stack_dim=1)
    assert (loader.name, loader.training, loader.epoch_interval, loader.stack_dim) == ("val", False, 5, 1)
    batches = list(loader)
    assert len(batches) == 2 and batches[0].shape == (2, 3, 3)
    with pytest.raises(ValueError):
        LTRLoader("train", data, stack_dim=2)


def _dimp_sampler(dataset_cls, samples: int) -> sampler.DiMPSampler:
    proc = processing.DiMPProcessing(
        search_area_factor=4.0,
        output_sz=32,
        center_jitter_factor={"train": 1, "test": 2},
        scale_jitter_factor={"train": 0.1, "test": 0.2},
        mode="sequence",
        proposal_params={"min_iou": 0.1, "boxes_per_frame": 4, "sigma_factor": [0.05, 0.1]},
        label_function_params={"sigma_factor": 0.05, "kernel_sz": 4, "feature_sz": 2},
    )
    return sampler.DiMPSampler([dataset_cls(image_size=(48, 64))], None, samples, 10, 2, 2, processing=proc)


def test_loader_batches_of_the_dimp_pipeline_in_the_main_process(fake_video_dataset):
    loader = LTRLoader("train", _dimp_sampler(fake_video_dataset, 6), batch_size=3, stack_dim=1, drop_last=True)
    random.seed(0)
    torch.manual_seed(0)
    batches = list(loader)
    assert len(batches) == 2
    b = batches[0]
    assert b["train_images"].shape == (2, 3, 3, 32, 32) and b["test_anno"].shape == (2, 3, 4)
    assert b["test_proposals"].shape == (2, 3, 4, 4) and b["test_label"].shape == (2, 3, 3, 3)
    assert b["dataset"] == ["fake_video"] * 3


def test_loader_with_two_spawned_workers_matches_forked_workers(fake_video_dataset, monkeypatch):
    # Spawned workers import this test package by name, so the repository root must be importable there.
    monkeypatch.setattr(sys, "path", [str(REPO_ROOT), *sys.path])

    def run(context):
        loader = LTRLoader(
            "train",
            _dimp_sampler(fake_video_dataset, 8),
            batch_size=2,
            num_workers=2,
            stack_dim=1,
            multiprocessing_context=context,
            generator=torch.Generator().manual_seed(123),
        )
        return list(loader)

    spawned = run("spawn")  # everything handed to the workers must pickle
    assert len(spawned) == 4
    for b in spawned:
        assert isinstance(b, TensorDict)
        assert b["train_images"].shape == (2, 2, 3, 32, 32) and b["proposal_iou"].shape == (2, 2, 4)
        assert b["test_label"].shape == (2, 2, 3, 3) and b["dataset"] == ["fake_video"] * 2
    if "fork" not in multiprocessing.get_all_start_methods():
        return
    # Workers seed random/torch/numpy from the loader's generator alone: forked workers give the same batches.
    forked = run("fork")
    for a, b in zip(spawned, forked):
        assert torch.equal(a["test_images"], b["test_images"]) and torch.equal(a["test_proposals"], b["test_proposals"])
    # Different workers (and batches) draw different samples.
    assert not torch.equal(spawned[0]["test_anno"], spawned[1]["test_anno"])
