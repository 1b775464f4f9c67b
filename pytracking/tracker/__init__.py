"""Trackers: one sub-package per tracker name.

``pytracking/tracker/<name>/__init__.py`` defines ``get_tracker_class()``, which imports and returns the tracker
class (a :class:`pytracking.tracker.base.BaseTracker` subclass). Nothing is imported here, so listing or
importing this package never pulls in torch, OpenCV or a network.
"""
