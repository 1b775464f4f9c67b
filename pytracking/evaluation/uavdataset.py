"""UAV123: 123 sequences, frames ``data_seq/UAV123/<folder>/{:06d}.jpg``, comma-delimited ground truth
``anno/UAV123/<name>.txt``. Split sequences (bird1_1..3, car1_1..3, ...) share one frame folder with their own frame
ranges. Frames where the target is absent have ``NaN`` rows, kept as NaN.

For copies in the OTB-style layout (``<seq>/img/`` + ``groundtruth_rect.txt``, e.g. UAV123@10fps repackaged) use
:class:`~pytracking.evaluation.otbdataset.OTBStyleFolderDataset`.

Reference: Mueller, Smith, Ghanem, "A Benchmark and Simulator for UAV Tracking", ECCV 2016.
"""

from __future__ import annotations

from pytracking.evaluation.otbdataset import TableDataset

__all__ = ["UAVDataset"]


class UAVDataset(TableDataset):
    """UAV123 (``uav_path``); see :class:`~pytracking.evaluation.otbdataset.TableDataset` for the layout."""

    name = "uav"
    path_attr = "uav_path"
    table_file = "uav.csv"
