"""Training administration: settings, checkpoints, statistics."""
