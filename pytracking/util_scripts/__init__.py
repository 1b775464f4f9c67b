"""Helper scripts: packing results for benchmark evaluation servers (GOT-10k, TrackingNet)."""
