"""Recognising style-transfer checkpoints by their key names (``WeightFormat.sniff`` for :mod:`zoo.weights.formats`).

Importing this module does not import torch.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

__all__ = ["sniff_fast_neural_style"]

_FNS_KEY = re.compile(r"^(conv[123]|deconv[123])\.conv2d\.(weight|bias)$|^(res[1-5]\.)?in\d\.")


def sniff_fast_neural_style(state_dict: Mapping[str, Any], model: Any = None) -> bool:
    """pytorch/examples ``fast_neural_style`` saves: ``convN.conv2d.*``, ``inN.*``, ``resK.convN.conv2d.*`` keys."""
    keys = [k for k in state_dict if isinstance(k, str)]
    if not keys or not any(k == "conv1.conv2d.weight" for k in keys):
        return False
    return all(_FNS_KEY.match(k) or re.match(r"^res[1-5]\.conv[12]\.conv2d\.(weight|bias)$", k) for k in keys)
