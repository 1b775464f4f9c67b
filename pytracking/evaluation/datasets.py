"""Registry of the evaluation datasets: a name maps to a loader class (imported only when used) and its kwargs.

``get_dataset('otb', 'nfs')`` returns the concatenated :class:`~pytracking.evaluation.data.SequenceList`.
"""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple

from pytracking.evaluation.data import BaseDataset, SequenceList

__all__ = [
    "DatasetInfo",
    "dataset_dict",
    "dataset_names",
    "create_dataset",
    "load_dataset",
    "get_dataset",
    "datasets_with_attributes",
    "get_dataset_attributes",
]

_PREFIX = "pytracking.evaluation."


class DatasetInfo(NamedTuple):
    """Where a dataset's loader lives: module (relative to ``pytracking.evaluation``), class and kwargs."""

    module: str
    class_name: str
    kwargs: dict


def _info(module: str, class_name: str, **kwargs: Any) -> DatasetInfo:
    return DatasetInfo(_PREFIX + module, class_name, kwargs)


dataset_dict: dict[str, DatasetInfo] = {
    "synthetic": _info("syntheticdataset", "SyntheticDataset", split="synthetic"),
    "synthetic_train": _info("syntheticdataset", "SyntheticDataset", split="synthetic_train"),
    "otb": _info("otbdataset", "OTBDataset"),
    "nfs": _info("nfsdataset", "NFSDataset"),
    "uav": _info("uavdataset", "UAVDataset"),
    "tpl": _info("tpldataset", "TPLDataset"),
    "tpl_nootb": _info("tpldataset", "TPLDataset", exclude_otb=True),
    "vot": _info("votdataset", "VOTDataset"),
    "trackingnet": _info("trackingnetdataset", "TrackingNetDataset"),
    "trackingnetvos": _info("trackingnetdataset", "TrackingNetDataset", vos_mode=True),
    "got10k_test": _info("got10kdataset", "GOT10KDataset", split="test"),
    "got10k_val": _info("got10kdataset", "GOT10KDataset", split="val"),
    "got10k_ltrval": _info("got10kdataset", "GOT10KDataset", split="ltrval"),
    "got10kvos_val": _info("got10kdataset", "GOT10KDataset", split="val", vos_mode=True),
    "lasot": _info("lasotdataset", "LaSOTDataset"),
    "lasot_train": _info("lasotdataset", "LaSOTTrainSequencesDataset"),
    "lasotvos": _info("lasotdataset", "LaSOTDataset", vos_mode=True),
    "lasot_extension_subset": _info("lasotextensionsubsetdataset", "LaSOTExtensionSubsetDataset"),
    "oxuva_dev": _info("oxuvadataset", "OxUvADataset", split="dev"),
    "oxuva_test": _info("oxuvadataset", "OxUvADataset", split="test"),
    "avist": _info("avistdataset", "AVisTDataset"),
    "dv2017_val": _info("davisdataset", "DAVISDataset", version="2017", split="val"),
    "dv2016_val": _info("davisdataset", "DAVISDataset", version="2016", split="val"),
    "dv2017_test_dev": _info("davisdataset", "DAVISDataset", version="2017", split="test-dev"),
    "dv2017_test_chal": _info("davisdataset", "DAVISDataset", version="2017", split="test-challenge"),
    "yt2019_test": _info("youtubevosdataset", "YouTubeVOSDataset", version="2019", split="test"),
    "yt2019_valid": _info("youtubevosdataset", "YouTubeVOSDataset", version="2019", split="valid"),
    "yt2019_valid_all": _info("youtubevosdataset", "YouTubeVOSDataset", version="2019", split="valid", all_frames=True),
    "yt2018_valid_all": _info("youtubevosdataset", "YouTubeVOSDataset", version="2018", split="valid", all_frames=True),
    "yt2018_jjval": _info("youtubevosdataset", "YouTubeVOSDataset", version="2018", split="jjvalid"),
    "yt2019_jjval": _info("youtubevosdataset", "YouTubeVOSDataset", version="2019", split="jjvalid"),
    "yt2019_jjval_all": _info(
        "youtubevosdataset", "YouTubeVOSDataset", version="2019", split="jjvalid", all_frames=True
    ),
}


def dataset_names() -> list[str]:
    """All registered dataset names."""
    return sorted(dataset_dict)


def create_dataset(name: str, **kwargs: Any) -> BaseDataset:
    """Instantiate the loader of dataset ``name``; ``kwargs`` (e.g. ``root=``) override the registered ones.

    Raises:
        ValueError: unknown name (the message lists the valid names).
    """
    info = dataset_dict.get(name)
    if info is None:
        raise ValueError(f"Unknown dataset {name!r}; valid names: {', '.join(dataset_names())}")
    cls = getattr(importlib.import_module(info.module), info.class_name)
    return cls(**{**info.kwargs, **kwargs})


def load_dataset(name: str, **kwargs: Any) -> SequenceList:
    """The (lazy) sequences of dataset ``name``; see :func:`create_dataset`."""
    return create_dataset(name, **kwargs).get_sequence_list()


def get_dataset(*names: str, **kwargs: Any) -> SequenceList:
    """Concatenate the sequences of several datasets; ``kwargs`` are passed to every loader."""
    sequences = SequenceList()
    for name in names:
        sequences.extend(load_dataset(name, **kwargs))
    return sequences


def _loader_class(info: DatasetInfo) -> type | None:
    """The loader class of a registry entry, or ``None`` when its module cannot be imported here."""
    try:
        return getattr(importlib.import_module(info.module), info.class_name)
    except ImportError:
        return None


def datasets_with_attributes() -> list[str]:
    """Registered dataset names whose loader provides per-sequence attribute labels (a ``get_attributes()``)."""
    return [
        name for name in dataset_names() if callable(getattr(_loader_class(dataset_dict[name]), "get_attributes", None))
    ]


def _long_name(attribute: str) -> str:
    return attribute.replace("_", " ").capitalize()


def get_dataset_attributes(name: str, mode: str = "short", **kwargs: Any) -> dict[str, SequenceList]:
    """The sequences of dataset ``name`` grouped by attribute (a sequence appears under each attribute it has).

    Args:
        name: a registered dataset whose loader has ``get_attributes()`` (``attribute -> sequence names``), e.g.
            ``'synthetic'``; see :func:`datasets_with_attributes`.
        mode: ``'short'`` keys the result by the attribute identifiers (``'out_of_view'``), ``'long'`` by readable
            names (``'Out of view'``).
        **kwargs: passed to the loader (see :func:`create_dataset`).

    Returns:
        Attribute -> :class:`SequenceList` of the sequences having it, in the loader's attribute order and the
        dataset's sequence order; every attribute the loader defines is present, possibly with an empty list.

    Raises:
        ValueError: unknown dataset or mode, or a dataset without attribute labels (the message lists those that
            have them).
    """
    if mode not in ("short", "long"):
        raise ValueError(f"Unknown attribute name mode {mode!r}; choose 'short' or 'long'")
    if name in dataset_dict and not callable(getattr(_loader_class(dataset_dict[name]), "get_attributes", None)):
        # Checked on the class, before the loader looks for the dataset's files.
        raise ValueError(
            f"Dataset {name!r} has no attribute labels; datasets with attributes: "
            f"{', '.join(datasets_with_attributes())}"
        )
    dataset = create_dataset(name, **kwargs)
    sequences = dataset.get_sequence_list()
    out: dict[str, SequenceList] = {}
    for attribute, members in dataset.get_attributes().items():
        member_set = set(members)
        key = attribute if mode == "short" else _long_name(attribute)
        out[key] = SequenceList(seq for seq in sequences if seq.name in member_set)
    return out
