"""KYS ("Know Your Surroundings") scene-propagation modules: cost volume, ConvGRU, response predictor.

Import the submodules directly, e.g. ``ltr.models.kys.cost_volume``; checkpoints do not pickle these paths, but the
tracker and training code import them by name.
"""
