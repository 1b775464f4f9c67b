"""Training-run settings: the environment plus whatever a train-settings script attaches."""

from __future__ import annotations

from ltr.admin.environment import env_settings


class Settings:
    """Open attribute bag for one training run (``settings.batch_size = 26`` etc. are set by train scripts)."""

    def __init__(self) -> None:
        self.set_default()

    def set_default(self) -> None:
        self.env = env_settings()
        self.use_gpu = True
