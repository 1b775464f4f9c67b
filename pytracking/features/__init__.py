"""Feature extraction helpers: image patch sampling, test-time augmentations and network feature wrappers."""
