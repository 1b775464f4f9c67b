"""Parameter files of the kcf tracker."""
