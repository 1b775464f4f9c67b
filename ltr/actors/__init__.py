"""Actors: run a network on a training batch and return ``(loss, stats)`` for the trainer."""

from .base_actor import BaseActor
from .bbreg import AtomActor, AtomBBKLActor
from .tracking import DiMPActor, KLDiMPActor

__all__ = ["AtomActor", "AtomBBKLActor", "BaseActor", "DiMPActor", "KLDiMPActor"]
