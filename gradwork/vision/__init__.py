"""Computer vision beyond classification: boxes, anchors, non-maximum suppression, detection heads and
losses, mean average precision, neural style transfer, image files.

The modules are imported by name (``from gradwork.vision import boxes``); this package imports none of
them itself, so ``import gradwork`` stays light.
"""
