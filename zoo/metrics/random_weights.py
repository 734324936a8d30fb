"""Seeded random weights in the official checkpoint layouts, for offline parity tests and speed benchmarks.

Real metric weights cannot be downloaded everywhere; identical random weights loaded into both the
zoo and a reference package still test that the two networks compute the same function. Never use
these for reported metric values (results built from them say ``weights_verified: False``).
"""

from __future__ import annotations

import torch


def random_inception_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """FID-Inception weights in torchvision Inception3 layout (566 keys), scaled so activations stay O(1).

    He-scaled convolutions, BN affine and running statistics away from (1, 0) so an eps or
    normalisation bug shows up (the default init would hide it, and trunc-normal 0.1 explodes).
    """
    import torchvision  # heavy

    g = torch.Generator().manual_seed(seed)
    sd = torchvision.models.inception_v3(weights=None, aux_logits=False, num_classes=1008,
                                         init_weights=False).state_dict()
    out = {}
    for key, value in sd.items():
        if key.endswith("conv.weight"):
            out[key] = torch.randn(value.shape, generator=g) * (2.0 / value[0].numel()) ** 0.5
        elif key.endswith(("bn.weight", "running_var")):
            out[key] = torch.rand(value.shape, generator=g) + 0.5
        elif key.endswith(("bn.bias", "running_mean")):
            out[key] = torch.randn(value.shape, generator=g) * 0.1
        elif key == "fc.weight":
            out[key] = torch.randn(value.shape, generator=g) / 2048 ** 0.5
        elif key == "fc.bias":
            out[key] = torch.zeros(value.shape)
        else:
            out[key] = value.clone()
    return out


def random_trunk_state_dict(torchvision_name: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """A torchvision classifier's default random init (``alexnet``, ``vgg16``, ``squeezenet1_1``), seeded."""
    import torchvision  # heavy

    torch.manual_seed(seed)
    return getattr(torchvision.models, torchvision_name)(weights=None).state_dict()
