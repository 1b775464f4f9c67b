"""Train settings of the DiMP family: DiMP-18/50, PrDiMP-18/50, SuperDiMP, and this project's tiny DiMP trained
from scratch on the synthetic benchmark."""
