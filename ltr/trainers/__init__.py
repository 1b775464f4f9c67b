"""Trainers: the epoch loop, checkpointing and statistics."""

from .base_trainer import BaseTrainer
from .ltr_trainer import LTRTrainer

__all__ = ["BaseTrainer", "LTRTrainer"]
