"""Data pipeline for training: loaders, samplers, processing and transforms."""
