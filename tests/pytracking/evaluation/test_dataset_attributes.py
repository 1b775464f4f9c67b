"""get_dataset_attributes: sequences grouped by attribute, for the synthetic splits and any loader with labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import pytracking.evaluation as evaluation
from pytracking.evaluation import Sequence, SequenceList
from pytracking.evaluation.data import BaseDataset
from pytracking.evaluation.datasets import (
    DatasetInfo,
    dataset_dict,
    datasets_with_attributes,
    get_dataset_attributes,
)
from pytracking.evaluation.synthetic.generator import ATTRIBUTES
from pytracking.evaluation.synthetic.layout import read_attributes

# One sequence per primary challenge of the first eight, small and short: about a second to generate.
SMALL = dict(num_sequences=8, min_frames=12, max_frames=12, width=64, height=48)


class LabelledDataset(BaseDataset):
    """Four in-memory sequences; attribute 'b' is listed out of sequence order and names an unknown sequence."""

    name = "labelled"

    def sequence_names(self) -> list[str]:
        return ["s0", "s1", "s2", "s3"]

    def _construct_sequence(self, name: str) -> Sequence:
        return Sequence(name, [f"{name}.jpg"], self.name, np.zeros((1, 4)))

    def get_attributes(self) -> dict[str, list[str]]:
        return {"fast_motion": ["s1", "s3"], "b": ["s2", "s0", "ghost"], "none": []}


@pytest.fixture
def labelled(monkeypatch):
    # this test module is in sys.modules, so the registry can import the loader from it
    monkeypatch.setitem(dataset_dict, "labelled", DatasetInfo(__name__, "LabelledDataset", {}))
    return "labelled"


def test_synthetic_attributes_match_the_label_files(tmp_path):
    attrs = get_dataset_attributes("synthetic", root=tmp_path, **SMALL)
    assert list(attrs) == list(ATTRIBUTES)
    labels = read_attributes(Path(tmp_path) / "synthetic")
    names = [f"syn_{i:04d}" for i in range(8)]
    assert list(labels) == names
    for attr, seqs in attrs.items():
        assert isinstance(seqs, SequenceList)
        assert seqs.names() == [n for n in names if labels[n][attr]], attr  # dataset order kept
        assert all(seq.dataset == "synthetic" for seq in seqs)
    # the challenge cycle forces occlusion on sequence 0 and out-of-view on sequence 1
    assert "syn_0000" in attrs["occlusion"].names() and "syn_0001" in attrs["out_of_view"].names()
    # sequences are the loader's lazy sequences: they load
    seq = attrs["out_of_view"]["syn_0001"]
    assert seq.ground_truth_rect.shape == (12, 4) and len(seq.frames) == 12

    long = get_dataset_attributes("synthetic", mode="long", root=tmp_path, **SMALL)
    assert list(long)[:4] == ["Occlusion", "Partial occlusion", "Full occlusion", "Out of view"]
    assert [s.names() for s in long.values()] == [s.names() for s in attrs.values()]


def test_any_loader_with_get_attributes(labelled):
    attrs = get_dataset_attributes(labelled)
    assert {k: v.names() for k, v in attrs.items()} == {"fast_motion": ["s1", "s3"], "b": ["s0", "s2"], "none": []}
    assert list(get_dataset_attributes(labelled, mode="long")) == ["Fast motion", "B", "None"]
    assert "labelled" in datasets_with_attributes()


def test_errors(labelled):
    with_attrs = datasets_with_attributes()
    assert {"synthetic", "synthetic_train", "labelled"} <= set(with_attrs)
    assert "otb" not in with_attrs and "lasot" not in with_attrs
    with pytest.raises(
        ValueError, match=r"Dataset 'otb' has no attribute labels; datasets with attributes: .*synthetic"
    ):
        get_dataset_attributes("otb")
    with pytest.raises(ValueError, match="Unknown dataset 'nope'"):
        get_dataset_attributes("nope")
    with pytest.raises(ValueError, match="Unknown attribute name mode 'medium'"):
        get_dataset_attributes(labelled, mode="medium")


def test_exported_from_the_package():
    assert evaluation.get_dataset_attributes is get_dataset_attributes
    assert "get_dataset_attributes" in evaluation.__all__
