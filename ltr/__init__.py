"""ltr: Learning Tracking Representations, the training framework (datasets, models, actors, trainers)."""

__version__ = "0.1.0"
