"""Parameter files of the dimp tracker (DiMP-18/50, PrDiMP-18/50, SuperDiMP and their VOT settings)."""
