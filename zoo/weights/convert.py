"""A catalog model's weights as one safetensors file in the zoo's key layout, recording where they came from."""

from __future__ import annotations

import json
from pathlib import Path

from zoo.errors import ZooError
from zoo.files import sha256_of
from zoo.version import VERSION
from zoo.weights.loading import pretrained_network

SAFETENSORS_METADATA_KEYS = ("zoo.entry", "zoo.architecture", "zoo.architecture_kwargs", "zoo.source_url",
                             "zoo.source_format", "zoo.source_sha256", "zoo.version")


def convert_to_safetensors(name: str, output: str | Path, *, weights: str | None = None, pretrained: bool = True,
                           weights_format: str | None = None, infer_architecture: bool = False,
                           offline: bool | None = None) -> Path:
    """Write entry ``name``'s weights (as loaded: adapted to the zoo's key layout) to a safetensors file.

    The metadata names the entry, the source URL / path, its format and the sha256 of the original file, so
    the file documents where it came from; ``zoo.load(name, weights=output)`` gives the same network.
    """
    from zoo.weights.serialization import save_state_dict  # heavy

    output = Path(output)
    if output.suffix.lower() not in (".safetensors", ".sft"):
        raise ZooError(f"output {output} must end in .safetensors")
    built = pretrained_network(name, pretrained=pretrained, weights=weights, weights_format=weights_format,
                               infer_architecture=infer_architecture, offline=offline)
    resolved = built.weights
    metadata = {"zoo.entry": built.entry.name, "zoo.architecture": built.entry.architecture,
                "zoo.architecture_kwargs": json.dumps(dict(built.entry.kwargs), sort_keys=True),
                "zoo.version": VERSION, "format": "pt"}
    if resolved is not None:
        metadata.update({"zoo.source_url": resolved.spec.uri, "zoo.source_format": resolved.spec.format,
                         "zoo.source_sha256": sha256_of(resolved.path)})
    else:
        metadata["zoo.source_url"] = "random initialisation (pretrained=False)"
    state = {k: v for k, v in built.network.float().state_dict().items()}
    return save_state_dict(state, output, metadata=metadata)
