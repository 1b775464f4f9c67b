"""TrackerParams (get/has/defaults, the strict typo guard), FeatureParams and Choice."""

from __future__ import annotations

import copy
import inspect
import pickle
import random
import re

import pytest
import torch

from pytracking.libs.tensorlist import TensorList
from pytracking.utils.params import HARNESS_PARAMETERS, Choice, FeatureParams, TrackerParams

DEFAULTS = {"displacement_scale": 0.8, "learning_rate": 0.01, "net_opt_iter": 10}


def test_get_has_and_defaults_of_a_free_bag():
    params = TrackerParams()
    params.learning_rate = 0.1
    params.set_default_values({"learning_rate": 0.5, "train_skipping": 20})
    assert params.learning_rate == 0.1  # a set value wins over the default
    assert params.train_skipping == 20
    assert params.has("train_skipping") and not params.has("score_preprocess")
    assert params.get("score_preprocess", "none") == "none"
    assert params.get("learning_rate", 99) == 0.1
    assert params.get("learning_rate") == 0.1
    assert params.get("missing", None) is None
    with pytest.raises(AttributeError, match="'missing'"):
        params.get("missing")
    with pytest.raises(ValueError, match="one default"):
        params.get("missing", 1, 2)
    assert params.declared is None
    assert params.to_dict() == {"learning_rate": 0.1, "train_skipping": 20}
    # Methods are not parameters.
    assert not params.has("get") and not params.has("_declared")


def test_strict_params_hold_the_defaults_and_accept_declared_and_harness_names():
    params = TrackerParams.strict(DEFAULTS)
    assert params.to_dict() == DEFAULTS
    assert params.declared == frozenset(DEFAULTS) | HARNESS_PARAMETERS
    params.net_opt_iter = 5
    params.debug = 2  # the harness sets these on every tracker
    params.visualization = False
    assert params.get("net_opt_iter") == 5 and params.debug == 2


def test_strict_params_reject_a_typo_with_suggestion_and_assignment_site():
    params = TrackerParams.strict(DEFAULTS)
    line = inspect.currentframe().f_lineno + 2
    with pytest.raises(AttributeError) as info:
        params.dispalcement_scale = 0.5
    message = str(info.value)
    assert "'dispalcement_scale' is not a declared parameter" in message
    assert "did you mean 'displacement_scale'?" in message
    assert f"{__file__}:{line}" in message
    assert not params.has("dispalcement_scale")
    assert params.displacement_scale == 0.8


def test_typo_through_setattr_and_set_default_values_is_caught_too():
    params = TrackerParams.strict(DEFAULTS)
    with pytest.raises(AttributeError, match="did you mean 'learning_rate'"):
        setattr(params, "learnig_rate".strip(), 1.0)  # a name computed at run time
    line = inspect.currentframe().f_lineno + 2
    with pytest.raises(AttributeError, match=re.escape(f"{__file__}:{line}")):
        params.set_default_values({"net_opt_itr": 3})


def test_undeclared_name_without_close_match_has_no_suggestion():
    params = TrackerParams.strict(DEFAULTS)
    with pytest.raises(AttributeError) as info:
        params.zzz = 1
    assert "did you mean" not in str(info.value)


def test_reading_a_misspelled_name_suggests_the_declared_one():
    params = TrackerParams.strict(DEFAULTS)
    with pytest.raises(AttributeError, match="has no parameter 'learnin_rate'; did you mean 'learning_rate'"):
        params.learnin_rate  # noqa: B018
    params = TrackerParams(declared=["score_filter_ksz"])
    with pytest.raises(AttributeError, match="declared but has no value"):
        params.score_filter_ksz  # noqa: B018
    assert params.get("score_filter_ksz", 3) == 3


def test_declare_switches_a_free_bag_to_strict_and_checks_existing_names():
    params = TrackerParams()
    params.a = 1
    params.declare(["a", "b"])
    params.b = 2
    with pytest.raises(AttributeError, match="did you mean 'b'"):
        params.bb = 3
    params.declare("c")  # one more name, as a plain string
    params.c = 3
    free = TrackerParams()
    free.x = 1
    with pytest.raises(AttributeError, match=r"not declared: \['x'\]"):
        free.declare(["y"])
    assert free.declared is None


def test_strict_params_survive_copy_and_pickle():
    params = TrackerParams.strict(DEFAULTS)
    for clone in (copy.deepcopy(params), pickle.loads(pickle.dumps(params))):
        assert clone.to_dict() == DEFAULTS
        assert clone.declared == params.declared
        with pytest.raises(AttributeError, match="did you mean"):
            clone.dispalcement_scale = 1.0


def test_repr_lists_the_values():
    params = TrackerParams()
    params.a = 1
    params.b = "x"
    assert repr(params) == "TrackerParams(a=1, b='x')"


def test_feature_params_turn_lists_into_tensorlists():
    fp = FeatureParams(feature_params=[torch.tensor([1.0]), torch.tensor([2.0, 3.0])], learning_rate=0.1, sz=(3, 4))
    assert isinstance(fp.feature_params, TensorList)
    assert [t.tolist() for t in fp.feature_params * 2] == [[2.0], [4.0, 6.0]]
    assert fp.learning_rate == 0.1 and fp.sz == (3, 4)  # tuples stay tuples
    with pytest.raises(ValueError, match="keyword"):
        FeatureParams(1)


def test_choice_draws_from_the_options_with_python_random():
    random.seed(0)
    draws = [Choice("a", "b", "c") for _ in range(30)]
    random.seed(0)
    assert draws == [random.choice(("a", "b", "c")) for _ in range(30)]
    assert set(draws) == {"a", "b", "c"}
    with pytest.raises(ValueError):
        Choice()
