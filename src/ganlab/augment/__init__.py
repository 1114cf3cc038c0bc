"""What D's inputs pass through at its one door (``Objective.run_d``): augmentations.

Every augment is an ``nn.Module`` mapping a batch of images (or points) to a batch of the
same shape, differentiably, so G's gradients flow through the fake branch. Its state (an
adaptive probability, say) is module state: in checkpoints and restored on resume.
Samples, metrics and exports never pass through it. An augment that only makes sense for
images says so in ``check_shape(shape)``, which runs before training. One that adapts to D
(ADA) has ``observe(real_logits, batch_images)``, called by D's main phase, and
``logged()``, the curves it adds to the run's log.
"""

from ganlab.augment.ada import AdaptiveAugment
from ganlab.augment.diffaugment import DiffAugment
from ganlab.augment.none import NoAugment

__all__ = ["AdaptiveAugment", "DiffAugment", "NoAugment"]
