"""Leaf utilities shared by tracking, evaluation and training: boxes, image I/O, text tables, settings."""
