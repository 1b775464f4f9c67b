"""Network building blocks shared by the trackers' networks (activations, filters, pooling, normalization)."""
