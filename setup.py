"""Compatibility shim: metadata lives in pyproject.toml (``pip install -e .`` uses it)."""

from setuptools import setup

setup()
