"""Parameter files of the atom tracker (ATOM default and VOT settings, multi-scale without IoU-Net, and the
ATOM variants with probabilistic IoU-Net training from the PrDiMP paper)."""
