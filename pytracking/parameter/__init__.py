"""Parameter files: ``pytracking/parameter/<tracker>/<variant>.py`` defines ``parameters() -> TrackerParams``."""
