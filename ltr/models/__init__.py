"""Network definitions: backbones, building blocks, and the tracking/segmentation networks."""
