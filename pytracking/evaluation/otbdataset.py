"""OTB-100 and the table-driven loader shared by OTB, NFS, UAV123 and TPL; a generic OTB-style folder loader.

Table datasets list every sequence in a packaged CSV (``dataset_tables/<name>.csv``: name, path, startFrame,
endFrame, nz, ext, anno_path, optional object_class and initOmit). Frame ``i`` of a sequence is
``{root}/{path}/{i:0{nz}d}.{ext}`` for ``i`` in ``startFrame + initOmit .. endFrame``; the ground truth is
``{root}/{anno_path}`` with its first ``initOmit`` rows dropped.
"""

from __future__ import annotations

import os
from pathlib import Path

from pytracking.evaluation.data import BaseDataset, Sequence, lazy, list_frames, load_boxes, read_table

__all__ = ["TableDataset", "OTBDataset", "OTBStyleFolderDataset"]


class TableDataset(BaseDataset):
    """A benchmark whose sequences (folders, frame ranges, annotation files) come from a packaged CSV table.

    Subclasses set ``name``, ``path_attr``, ``table_file`` and ``gt_delimiter``.
    """

    table_file: str = ""
    gt_delimiter: tuple = (",", None)

    def _rows(self) -> dict[str, dict[str, str]]:
        return {row["name"]: row for row in read_table(self.table_file)}

    def sequence_names(self) -> list[str]:
        return list(self._rows())

    def _construct_sequence(self, name: str) -> Sequence:
        row = self._rows()[name]
        omit = int(row.get("initOmit") or 0)
        nz, ext = int(row["nz"]), row["ext"]
        folder = os.path.join(self.base_path, row["path"])
        first, last = int(row["startFrame"]) + omit, int(row["endFrame"])
        frames = [os.path.join(folder, f"{i:0{nz}d}.{ext}") for i in range(first, last + 1)]
        anno = Path(self.base_path) / row["anno_path"]
        context = f"{self.name} sequence {name!r}: ground-truth file"
        delimiter = self.gt_delimiter

        def ground_truth():
            return load_boxes(anno, context, delimiter)[omit:, :4]

        return Sequence(name, frames, self.name, lazy(ground_truth), object_class=row.get("object_class") or None)


class OTBDataset(TableDataset):
    """OTB-100 (``otb_path``): 100 sequences including Human4_2, Jogging_1/2 and Skating2_1/2, which use
    ``groundtruth_rect.{1,2}.txt``; BlurCar1/3/4 and David start late, Board has 5-digit frame names, KiteSurf
    stores PNGs under ``jpg/`` and Tiger1 skips its first 5 frames (``initOmit``).

    Reference: Wu, Lim, Yang, "Object Tracking Benchmark", TPAMI 2015.
    """

    name = "otb"
    path_attr = "otb_path"
    table_file = "otb.csv"


class OTBStyleFolderDataset(BaseDataset):
    """Any folder of OTB-style sequences: ``{root}/<seq>/img/*.jpg`` plus ``{root}/<seq>/groundtruth_rect.txt``.

    Sequences are the sub-folders that hold a ``groundtruth_rect.txt`` (or those given in ``sequences``); frames
    are the images of ``img/`` sorted numerically. Used, for example, for UAV123@10fps copies shipped in this
    layout (``root=<...>/UAV123_10fps``) or custom data.

    Args:
        root: folder holding the sequence folders (required).
        dataset_name: the ``Sequence.dataset`` tag.
        sequences: names to use instead of listing the folder.
        img_dir: name of the image sub-folder.
        anno_file: name of the ground-truth file inside each sequence folder.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        dataset_name: str = "otb_style",
        sequences: list[str] | None = None,
        img_dir: str = "img",
        anno_file: str = "groundtruth_rect.txt",
    ) -> None:
        self.name = dataset_name
        super().__init__(root=root)
        self._names = list(sequences) if sequences is not None else None
        self.img_dir, self.anno_file = img_dir, anno_file

    def sequence_names(self) -> list[str]:
        if self._names is None:
            self._names = sorted(
                d for d in os.listdir(self.base_path) if (Path(self.base_path) / d / self.anno_file).is_file()
            )
        return list(self._names)

    def _construct_sequence(self, name: str) -> Sequence:
        seq_dir = Path(self.base_path) / name
        context = f"{self.name} sequence {name!r}"
        gt = lazy(lambda: load_boxes(seq_dir / self.anno_file, f"{context}: ground-truth file")[:, :4])
        frames = lazy(lambda: list_frames(seq_dir / self.img_dir, f"{context}: image folder"))
        return Sequence(name, frames, self.name, gt)
