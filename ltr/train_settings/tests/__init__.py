"""Smoke-test settings that train on generated data (no dataset on disk needed)."""
