"""Feature backbones: ResNet-18/50/101 (torchvision layout), a small ResNet, ResNet-18 + VGG-M conv1 (ECO) and the
Mask R-CNN-layout ResNet (``resnet_mrcnn.resnet50``/``resnet101``, LWL)."""

from . import resnet_mrcnn
from .base import Backbone
from .resnet import ResNet, resnet18, resnet50, resnet101, resnet_baby
from .resnet18_vggm import ResNetVGGm1, resnet18_vggmconv1

__all__ = [
    "Backbone",
    "ResNet",
    "ResNetVGGm1",
    "resnet18",
    "resnet18_vggmconv1",
    "resnet50",
    "resnet101",
    "resnet_baby",
    "resnet_mrcnn",
]
