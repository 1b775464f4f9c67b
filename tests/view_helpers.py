"""A debug view that records what trackers and the harness show, for tests of the live views (no display)."""

from __future__ import annotations


class RecordingView:
    """Records ``register()`` calls as ``(mode, debug_level, title, data, options)``; ``block_until_unpaused()``
    ends a frame."""

    def __init__(self, debug: int = 1):
        self.debug = debug
        self.registered_this_frame: set[str] = set()
        self.calls: list[tuple] = []
        self.frames_done = 0

    def register(self, data, mode, debug_level=0, title="Data", **kwargs):
        self.calls.append((mode, debug_level, title, data, kwargs))
        self.registered_this_frame.add(title)

    def block_until_unpaused(self, timeout=None):
        self.frames_done += 1
        self.registered_this_frame = set()
        return True

    def __deepcopy__(self, memo):
        return self  # shared, like the real views (MultiObjectWrapper deep-copies its template tracker)
