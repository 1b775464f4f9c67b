"""Split files of the training datasets (package data; plain id lists, one per line).

* ``got10k_train_split.txt`` (7934) / ``got10k_val_split.txt`` (1401): 0-based indices into GOT-10k's
  ``train/list.txt``; together they are ``0..9334``, disjoint.
* ``got10k_vot_train_split.txt`` (7086) / ``got10k_vot_val_split.txt`` (1249): the same two lists without the
  indices ``i`` for which ``GOT-10k_Train_{i:06d}`` is listed in ``got10k_vot_exclude.txt`` (1000 names, the
  sequences that overlap with VOT).
* ``lasot_train_split.txt`` (1120): LaSOT's protocol-II training sequences (the 16 of each class's 20 videos that
  are not in the test set), sorted as strings.

The lists are the ones PyTracking ships, so that ``split='train'`` etc. select the same sequences.
``trackingnet_classmap.txt`` (video id TAB class name) is not shipped; see :class:`ltr.dataset.TrackingNet`.
"""

from pathlib import Path

#: Folder holding the split files.
DATA_SPECS_DIR = Path(__file__).resolve().parent
