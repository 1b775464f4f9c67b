"""Bounding-box regression networks: the IoU-Net predictor (:mod:`.atom_iou_net`) and ATOM (:mod:`.atom`)."""

from .atom_iou_net import AtomIoUNet

__all__ = ["AtomIoUNet"]
