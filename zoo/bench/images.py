"""Image-grid samples for the report: input / output / reference, the same crop, as base64 PNG."""

from __future__ import annotations

import base64
import io
from typing import Any

#: side in output pixels of the crop shown in the report's image grids
CROP = 192


def png_b64(image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def tensor_to_pil(x, value_range: tuple[float, float] = (0.0, 1.0)):
    """A (C,H,W) tensor in ``value_range`` -> an 8-bit PIL image."""
    import numpy as np  # heavy
    from PIL import Image  # heavy

    lo, hi = value_range
    arr = ((x.detach().float().cpu() - lo) / (hi - lo)).clamp(0, 1).mul(255).round().byte().numpy()
    if arr.shape[0] == 1:
        return Image.fromarray(arr[0], "L")
    return Image.fromarray(np.ascontiguousarray(arr[:3].transpose(1, 2, 0)), "RGB")


def _as_pil(image):
    import numpy as np  # heavy
    from PIL import Image  # heavy

    if image is None or isinstance(image, Image.Image):
        return image
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = (np.clip(arr.astype(np.float64), 0, 1) * 255).round().astype(np.uint8)
    return Image.fromarray(arr)


def grid_sample(model: str, name: str, input_image: Any, output_image: Any, reference_image: Any | None,
                crop: int = CROP) -> dict[str, Any]:
    """The centre ``crop`` of the output, the same region of the input (upscaled, nearest) and of the reference."""
    from PIL import Image  # heavy

    inp, out, ref = _as_pil(input_image).convert("RGB"), _as_pil(output_image).convert("RGB"), _as_pil(reference_image)
    w, h = out.size
    side = min(crop, w, h)
    left, top = (w - side) // 2, (h - side) // 2
    box = (left, top, left + side, top + side)
    sx, sy = inp.size[0] / w, inp.size[1] / h
    in_box = (round(left * sx), round(top * sy), max(round((left + side) * sx), round(left * sx) + 1),
              max(round((top + side) * sy), round(top * sy) + 1))
    panels = {"input": inp.crop(in_box).resize((side, side), Image.NEAREST), "output": out.crop(box)}
    if ref is not None:
        ref = ref.convert("RGB")
        if ref.size != out.size:
            ref = ref.resize(out.size, Image.BICUBIC)
        panels["reference"] = ref.crop(box)
    return {"model": model, "name": name, "crop": list(box),
            **{k: png_b64(v) for k, v in panels.items()}, "reference": png_b64(panels["reference"]) if ref else None}
