"""Parameter files of the csrt tracker."""
