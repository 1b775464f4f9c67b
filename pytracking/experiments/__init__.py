"""Experiment definitions for ``run_experiment.py``.

An experiment is a function with no arguments in a module of this package, returning ``(trackers, dataset)``:
a list of :class:`pytracking.evaluation.tracker.Tracker` and a dataset (e.g. a
:class:`pytracking.evaluation.data.SequenceList`). Run it with
``python -m pytracking.run_experiment <module> <function>``.
"""
