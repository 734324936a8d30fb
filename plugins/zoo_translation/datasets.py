"""Evaluation sets of image-to-image translation: the official pix2pix and CycleGAN archives, and local sets.

pix2pix archives (``.tar.gz``) hold ``train/``, ``val/``, ``test/`` folders of side-by-side A|B images;
CycleGAN archives (``.zip``) hold ``trainA``, ``trainB``, ``testA``, ``testB``. Both live on the authors'
server (``scripts/download_*_dataset.sh`` of junyanz/pytorch-CycleGAN-and-pix2pix); no sha256 is published
for them, so none is pinned.
"""

from __future__ import annotations

from zoo.registry import Dataset, DataSource

PIX2PIX = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{}.tar.gz"
CYCLEGAN = "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{}.zip"
LICENSE = "see the dataset's original source (listed by junyanz/pytorch-CycleGAN-and-pix2pix); research use"

_PIX2PIX = {  # name: (A, B, description)
    "facades": ("photo", "label map", "CMP Facades: 400 aligned photo / label-map pairs (test: 106)"),
    "edges2shoes": ("edge map", "photo", "UT Zappos50K shoes with HED edges: ~50k pairs (val: 200)"),
    "maps": ("aerial photo", "map", "1096 aligned aerial photo / Google Maps pairs (val: 1098)"),
    "night2day": ("night", "day", "Transient Attributes: ~20k night / day pairs of the same scenes"),
}
_CYCLEGAN = {  # name: (A, B, description)
    "horse2zebra": ("horse", "zebra", "ImageNet horses and zebras: 1067 / 1334 train, 120 / 140 test"),
    "monet2photo": ("Monet painting", "photo", "1072 Monet paintings (WikiArt) / 6287 Flickr photos; test 121 / 751"),
    "apple2orange": ("apple", "orange", "ImageNet apples and navel oranges: 995 / 1019 train, 266 / 248 test"),
    "summer2winter_yosemite": ("summer", "winter", "Flickr Yosemite photos: 1231 / 962 train, 309 / 238 test"),
    "cezanne2photo": ("Cezanne painting", "photo", "Cezanne paintings (WikiArt) / Flickr landscape photos"),
    "ukiyoe2photo": ("Ukiyo-e print", "photo", "Ukiyo-e prints (WikiArt) / Flickr landscape photos"),
    "vangogh2photo": ("Van Gogh painting", "photo", "Van Gogh paintings (WikiArt) / Flickr landscape photos"),
    "iphone2dslr_flower": ("iPhone photo", "DSLR photo", "Flickr flower photos: iPhone / DSLR with shallow depth of field"),
    "maps": ("aerial photo", "map", "the pix2pix maps pairs, split unpaired (cyclegan-maps)"),
    "facades": ("photo", "label map", "the CMP Facades pairs, split unpaired (cyclegan-facades)"),
}
#: CycleGAN archives whose name is taken by the pix2pix (paired) archive of the same images
_RENAMED = {"maps": "cyclegan-maps", "facades": "cyclegan-facades"}


def datasets() -> list[Dataset]:
    out = []
    for name, (a, b, description) in _PIX2PIX.items():
        out.append(Dataset(name=name, task="paired-translation", layout="paired",
                           sources=(DataSource(url=PIX2PIX.format(name), root=name),),
                           description=f"pix2pix {description}; A = {a}, B = {b}", license=LICENSE,
                           options={"domains": {"A": a, "B": b}, "split": "val" if name in ("edges2shoes", "maps") else "test"}))
    for name, (a, b, description) in _CYCLEGAN.items():
        out.append(Dataset(name=_RENAMED.get(name, name.replace("_", "-")), task="unpaired-translation", layout="unpaired",
                           sources=(DataSource(url=CYCLEGAN.format(name), root=name),),
                           description=f"CycleGAN {description}; A = {a}, B = {b}", license=LICENSE,
                           options={"domains": {"A": a, "B": b}, "folder": _RENAMED.get(name, name),
                                    "aliases": (name,)}))
    out.append(Dataset(
        name="facades-pairs", task="paired-translation", layout="paired",
        description="4 CMP Facades test pairs (N-photo.png = A, N-labels.png = B), 256x256, from the docs of "
                    "affinelayer/pix2pix-tensorflow (MIT); local only: --data facades-pairs=DIR or a ZOO_DATA root",
        license="MIT (pix2pix-tensorflow); CMP Facades images: see the dataset",
        options={"pairing": "suffix", "a_suffix": "-photo", "b_suffix": "-labels", "domains": {"A": "photo", "B": "label map"}}))
    out.append(Dataset(
        name="unsplash-photos", task="unpaired-translation", layout="images",
        description="16 Unsplash photos (horses, zebras, paintings, landscapes) from louwjac/CycleGAN-Flax; "
                    "local only: --data unsplash-photos=DIR or a ZOO_DATA root",
        license="Unsplash license"))
    return out
