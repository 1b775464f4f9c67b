"""Pins the semantics of TensorDict."""

import copy

import pytest
import torch

from pytracking.libs.tensordict import TensorDict


def batch():
    return TensorDict(
        [
            ("image", torch.arange(6, dtype=torch.float32).view(2, 3)),
            ("name", "seq01"),
            ("boxes", torch.tensor([[1, 2, 3, 4]])),
            ("settings", {"a": 1}),
        ]
    )


def test_is_ordered_dict():
    d = batch()
    assert list(d.keys()) == ["image", "name", "boxes", "settings"]
    assert d["name"] == "seq01"


def test_method_broadcasting_skips_non_tensors():
    d = batch()
    out = d.double()
    assert isinstance(out, TensorDict) and out is not d
    assert list(out.keys()) == list(d.keys())
    assert out["image"].dtype == torch.float64 and out["boxes"].dtype == torch.float64
    assert out["name"] == "seq01" and out["settings"] is d["settings"]
    # The original is untouched.
    assert d["image"].dtype == torch.float32

    flat = d.view(-1)
    assert flat["image"].shape == (6,) and flat["boxes"].shape == (4,)
    assert flat["name"] == "seq01"

    sums = d.sum()
    assert sums["image"].item() == 15.0 and sums["boxes"].item() == 10


def test_non_tensor_attribute_raises():
    d = batch()
    with pytest.raises(AttributeError):
        d.not_a_tensor_method  # noqa: B018
    with pytest.raises(AttributeError):
        d.__not_a_dunder__  # noqa: B018


def test_concat():
    d = batch()
    out = d.concat({"extra": torch.zeros(1), "name": "other"})
    assert isinstance(out, TensorDict)
    assert list(out.keys()) == ["image", "name", "boxes", "settings", "extra"]
    assert out["name"] == "other" and d["name"] == "seq01"
    assert out["image"] is d["image"]


def test_copy_and_deepcopy():
    d = batch()
    shallow = d.copy()
    assert isinstance(shallow, TensorDict) and shallow is not d
    assert shallow["image"] is d["image"]
    shallow["new"] = 1
    assert "new" not in d

    deep = copy.deepcopy(d)
    assert isinstance(deep, TensorDict)
    assert deep["image"] is not d["image"] and deep["settings"] is not d["settings"]
    deep["image"] += 100
    assert d["image"][0, 0].item() == 0.0
    assert list(deep.keys()) == list(d.keys())


def test_apply_and_attribute():
    d = TensorDict(a=torch.ones(2), b=torch.zeros(3, 1))
    out = d.apply(torch.add, 5)
    assert isinstance(out, TensorDict)
    assert torch.equal(out["a"], torch.full((2,), 6.0)) and torch.equal(out["b"], torch.full((3, 1), 5.0))
    shapes = d.attribute("shape")
    assert isinstance(shapes, TensorDict) and shapes == {"a": torch.Size([2]), "b": torch.Size([3, 1])}
    assert batch().attribute("shape", None)["name"] is None
    with pytest.raises(AttributeError):
        batch().attribute("shape")
