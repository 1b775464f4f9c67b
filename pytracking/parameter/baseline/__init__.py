"""Parameter files of the baseline tracker."""
