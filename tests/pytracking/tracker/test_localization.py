"""Shared score-map localisation: peaks, scales and the distractor / not-found flags."""

import torch

from pytracking.tracker.base.localization import LocalizationThresholds, localize_advanced, localize_simple
from pytracking.utils.params import TrackerParams


def maps(*peak_sets: dict[tuple[int, int], float]) -> torch.Tensor:
    scores = torch.zeros(len(peak_sets), 1, 9, 11)
    for s, peaks in enumerate(peak_sets):
        for (y, x), v in peaks.items():
            scores[s, 0, y, x] = v
    return scores


CELL = torch.tensor([4.0, 8.0])


def test_localize_simple_picks_the_best_scale_and_converts_cells_to_pixels():
    scores = maps({(4, 5): 0.5}, {(2, 9): 0.9})
    translation, scale_ind, flag = localize_simple(scores, torch.tensor([1.0, 2.0]), CELL)
    # Centre cell (4, 5); peak (2, 9) is (-2, +4) cells; cell [4, 8] px at scale 2.
    assert (scale_ind, flag) == (1, "normal")
    assert translation.tolist() == [-16.0, 64.0]


def test_localize_advanced_uses_the_unwindowed_maps_for_the_second_peak():
    thresholds = LocalizationThresholds()
    pos = torch.tensor([100.0, 100.0])
    sample_pos = torch.tensor([[100.0, 100.0]])
    target_sz = torch.tensor([8.0, 16.0])
    windowed = maps({(4, 5): 1.0})
    raw = maps({(4, 5): 1.0, (0, 0): 0.6})
    args = (sample_pos, torch.ones(1), pos, target_sz, CELL, thresholds)
    assert localize_advanced(windowed, *args)[2] == "normal"
    assert localize_advanced(windowed, *args, hn_scores=raw)[2] == "hard_negative"


def test_thresholds_from_params_take_set_values_and_keep_defaults():
    params = TrackerParams()
    params.target_not_found_threshold = -1
    params.distractor_threshold = 100
    t = LocalizationThresholds.from_params(params)
    assert t.target_not_found_threshold == -1.0
    assert t.distractor_threshold == 100.0
    assert t.hard_negative_threshold == 0.5
    assert localize_advanced(maps({}), torch.zeros(1, 2), torch.ones(1), torch.zeros(2), torch.ones(2), CELL, t)[2] == (
        "normal"
    )
