"""The packaged split files: sizes and the relations between them."""

from __future__ import annotations

from ltr.data_specs import DATA_SPECS_DIR
from pytracking.evaluation.data import read_name_list


def _lines(name: str) -> list[str]:
    return [line.strip() for line in (DATA_SPECS_DIR / name).read_text().splitlines() if line.strip()]


def _ints(name: str) -> list[int]:
    return [int(t) for t in _lines(name)]


def test_got10k_splits_partition_the_train_set():
    train, val = _ints("got10k_train_split.txt"), _ints("got10k_val_split.txt")
    assert (len(train), len(val)) == (7934, 1401)
    assert len(set(train)) == len(train) and len(set(val)) == len(val)
    assert not set(train) & set(val)
    assert set(train) | set(val) == set(range(9335))


def test_got10k_vot_splits_drop_the_excluded_sequences_in_order():
    excluded = _lines("got10k_vot_exclude.txt")
    assert len(excluded) == 1000 and all(n.startswith("GOT-10k_Train_") for n in excluded)
    numbers = {int(n.rsplit("_", 1)[1]) for n in excluded}
    for full, vot, size in (("got10k_train_split.txt", "got10k_vot_train_split.txt", 7086),
                            ("got10k_val_split.txt", "got10k_vot_val_split.txt", 1249)):  # fmt: skip
        expected = [i for i in _ints(full) if i not in numbers]
        assert _ints(vot) == expected and len(expected) == size


def test_lasot_train_split_is_the_complement_of_the_test_set():
    train = _lines("lasot_train_split.txt")
    test = set(read_name_list("lasot_test.txt"))
    assert len(train) == 1120 and len(set(train)) == 1120 and train == sorted(train)
    classes = {name.rsplit("-", 1)[0] for name in test}
    assert len(classes) == 70
    everything = {f"{c}-{i}" for c in classes for i in range(1, 21)}
    assert set(train) == everything - test
