"""Phone photos and colour-managed files: EXIF orientation applied, ICC profile and DPI kept, JPEG quality 95."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from zoo.cli import main
from zoo.images import read_image, save_image, to_tensor

MODEL = "realesr-animevideov3"


def _portrait_photo_stored_sideways(path, orientation: int = 6) -> np.ndarray:
    """A 12 wide x 20 tall photo, stored as 20x12 pixels with EXIF orientation 6 (as phones do)."""
    rng = np.random.default_rng(0)
    upright = (rng.random((20, 12, 3)) * 255).astype(np.uint8)
    stored = np.ascontiguousarray(np.rot90(upright, k=1))  # orientation 6 = rotate 90 CW to display
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(path, exif=exif.tobytes(), quality=100, subsampling=0)
    return upright


def test_exif_orientation_is_applied_on_read(tmp_path):
    path = tmp_path / "phone.jpg"
    upright = _portrait_photo_stored_sideways(path)
    arr = read_image(path)
    assert arr.shape == (20, 12, 3)
    assert np.abs(arr.astype(int) - upright.astype(int)).mean() < 4  # JPEG noise only


def test_zoo_run_on_a_phone_photo_gives_a_portrait_result(tmp_path, capsys):
    path = tmp_path / "phone.jpg"
    _portrait_photo_stored_sideways(path)
    assert main(["run", MODEL, str(path), "-o", str(tmp_path / "out"), "--no-pretrained", "--device", "cpu"]) == 0
    assert Image.open(tmp_path / "out" / "phone_out.jpg").size == (48, 80)  # width 4*12, height 4*20


def test_icc_profile_and_dpi_survive_a_run(tmp_path):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    arr = (np.random.default_rng(1).random((10, 14, 3)) * 255).astype(np.uint8)
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(arr).save(src / "a.png", icc_profile=profile, dpi=(300, 300))
    Image.fromarray(arr).save(src / "b.jpg", icc_profile=profile, dpi=(72, 72))
    Image.fromarray(arr).save(src / "c.bmp")
    assert main(["run", MODEL, str(src), "-o", str(tmp_path / "out"), "--no-pretrained", "--device", "cpu", "-q"]) == 0
    for name, dpi in (("a_out.png", 300), ("b_out.jpg", 72)):
        with Image.open(tmp_path / "out" / name) as img:
            assert img.info.get("icc_profile") == profile, name
            assert round(img.info["dpi"][0]) == dpi, name
    with Image.open(tmp_path / "out" / "c_out.bmp") as img:
        assert "icc_profile" not in img.info


def test_jpeg_quality_is_95_by_default_and_settable(tmp_path):
    arr = (np.random.default_rng(2).random((32, 32, 3)) * 255).astype(np.uint8)
    x, info = to_tensor(arr)
    reference = io.BytesIO()
    Image.fromarray(arr).save(reference, format="JPEG", quality=95)
    save_image(Image.fromarray(arr), tmp_path / "default.jpg")
    assert (tmp_path / "default.jpg").read_bytes() == reference.getvalue()
    src = tmp_path / "photo.png"
    Image.fromarray(arr).save(src)
    sizes = {}
    for quality in ("95", "30"):
        out = tmp_path / f"q{quality}"
        assert main(["run", MODEL, str(src), "-o", str(out), "--ext", "jpg", "--quality", quality,
                     "--no-pretrained", "--device", "cpu", "-q"]) == 0
        sizes[quality] = (out / "photo_out.jpg").stat().st_size
    assert sizes["30"] < sizes["95"]


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp"])
def test_save_image_writes_atomically_and_keeps_profiles(tmp_path, suffix):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    img = Image.fromarray(np.zeros((8, 8, 3), np.uint8))
    path = save_image(img, tmp_path / f"x{suffix}", icc_profile=profile)
    with Image.open(path) as back:
        assert back.info.get("icc_profile") == profile
    assert [p.name for p in tmp_path.iterdir()] == [f"x{suffix}"]  # no temporary file left behind
