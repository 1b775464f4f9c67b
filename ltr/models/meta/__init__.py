"""Meta-learning optimizers: differentiable steepest-descent solvers used inside the networks."""

from .steepestdescent import GNSteepestDescent

__all__ = ["GNSteepestDescent"]
