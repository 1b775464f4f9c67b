"""Training losses: classification hinge losses, probabilistic (KL / ML) regression, GIoU, Lovasz segmentation."""

from .bbr_loss import GIoULoss
from .kl_regression import KLRegression, KLRegressionGrid, MLRegression
from .segmentation import LovaszSegLoss
from .target_classification import LBHinge, LBHingev2, TrackingClassificationAccuracy

__all__ = [
    "GIoULoss",
    "KLRegression",
    "KLRegressionGrid",
    "LBHinge",
    "LBHingev2",
    "LovaszSegLoss",
    "MLRegression",
    "TrackingClassificationAccuracy",
]
