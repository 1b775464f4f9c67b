"""Need for Speed (NFS), 30 fps version: 100 sequences, ``sequences/<name>/{:05d}.jpg``, TAB-delimited ground
truth ``anno/nfs_<name>.txt``. Sequence names carry the ``nfs_`` prefix.

Reference: Kiani Galoogahi et al., "Need for Speed: A Benchmark for Higher Frame Rate Object Tracking", ICCV 2017.
"""

from __future__ import annotations

from pytracking.evaluation.otbdataset import TableDataset

__all__ = ["NFSDataset"]


class NFSDataset(TableDataset):
    """NFS-30fps (``nfs_path``); see :class:`~pytracking.evaluation.otbdataset.TableDataset` for the layout."""

    name = "nfs"
    path_attr = "nfs_path"
    table_file = "nfs.csv"
    gt_delimiter = ("\t", ",", None)
