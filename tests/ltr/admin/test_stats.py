import pickle

import pytest
import torch

from ltr.admin.stats import AverageMeter, StatValue, topk_accuracy


def test_average_meter_weighted_mean_and_epochs():
    m = AverageMeter()
    assert (m.val, m.avg, m.sum, m.count, m.history, m.has_new_data) == (0, 0, 0, 0, [], False)
    m.update(2.0, n=3)
    m.update(6.0)
    assert m.val == 6.0
    assert m.sum == 12.0
    assert m.count == 4
    assert m.avg == 3.0
    m.new_epoch()
    assert m.history == [3.0]
    assert m.has_new_data
    assert (m.val, m.avg, m.sum, m.count) == (0, 0, 0, 0)
    m.new_epoch()  # an epoch without updates adds nothing
    assert m.history == [3.0]
    assert not m.has_new_data
    m.update(1.5, n=2)
    m.new_epoch()
    assert m.history == [3.0, 1.5]
    m.clear()
    assert (m.history, m.count) == ([], 0)


def test_stat_value_keeps_every_update():
    s = StatValue()
    assert (s.val, s.history) == (0, [])
    s.update(0.1)
    s.update(0.01)
    s.new_epoch()
    assert s.val == 0.01
    assert s.history == [0.1, 0.01]
    s.reset()
    assert (s.val, s.history) == (0, [0.1, 0.01])
    s.clear()
    assert s.history == []


def test_stats_pickle_by_module_path():
    m = AverageMeter()
    m.update(4.0, 2)
    data = pickle.dumps(m, protocol=2)
    assert b"ltr.admin.stats" in data and b"AverageMeter" in data
    back = pickle.loads(data)
    assert (back.sum, back.count, back.avg) == (8.0, 2, 4.0)


def test_topk_accuracy_exact():
    output = torch.tensor(
        [
            [0.1, 0.5, 0.4],  # ranking 1, 2, 0
            [0.7, 0.2, 0.1],  # ranking 0, 1, 2
            [0.3, 0.3, 0.4],  # ranking 2, then 0/1 tied
            [0.2, 0.5, 0.3],  # ranking 1, 2, 0
        ],
        dtype=torch.float64,
    )
    target = torch.tensor([1, 1, 2, 0])
    top1, top2, top3 = topk_accuracy(output, target, topk=(1, 2, 3))
    assert top1.item() == pytest.approx(50.0)  # samples 0 and 2
    assert top2.item() == pytest.approx(75.0)  # + sample 1
    assert top3.item() == pytest.approx(100.0)
    single = topk_accuracy(output, target, topk=1)
    assert isinstance(single, torch.Tensor) and single.dim() == 0
    assert single.item() == pytest.approx(50.0)
    assert [t.item() for t in topk_accuracy(output, target)] == pytest.approx([50.0])
