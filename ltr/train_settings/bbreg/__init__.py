"""Train settings of the bounding-box regressors (ATOM's IoU-Net)."""
