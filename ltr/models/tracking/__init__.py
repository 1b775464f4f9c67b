"""Tracking networks (DiMP family). Import the network modules directly, e.g. ``ltr.models.tracking.dimpnet``."""
