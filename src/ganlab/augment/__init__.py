"""What D's inputs pass through at its one door (``Objective.run_d``): augmentations.

Every augment is an ``nn.Module`` mapping a batch of images (or points) to a batch of the
same shape, differentiably, so G's gradients flow through the fake branch. Its state (an
adaptive probability, say) is module state: in checkpoints and restored on resume.
Samples, metrics and exports never pass through it.
"""

from ganlab.augment.none import NoAugment

__all__ = ["NoAugment"]
