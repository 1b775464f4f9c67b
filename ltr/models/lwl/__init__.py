"""LWL video object segmentation networks (``lwl_net``, ``lwl_box_net``) and their components.

Light on purpose: import the submodules (e.g. ``ltr.models.lwl.lwl_net``) for the networks.
"""
