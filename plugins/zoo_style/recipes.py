"""The training recipes of the style-transfer entries, as ``zoo train`` options, with their sources."""

from __future__ import annotations

from zoo.registry import Recipe

#: Engstrom's VGG19 sees 0..255 minus the mean pixel; torchvision's sees (x / 255 - mean) / std (std ~ 0.226), so
#: features are ~255 * 0.226 times larger there: content (squared) and Gram (fourth power) weights are rescaled
ENGSTROM_SCALE = 255.0 * 0.226


def recipes() -> list[Recipe]:
    return [
        Recipe(name="fast-neural-style", task="style-transfer",
               options={"lr": 1e-3, "batch_size": 4, "epochs": 2, "steps": 0, "image_size": 256, "seed": 42,
                        "content_weight": 1e5, "style_weight": 1e10, "tv_weight": 0.0, "vgg": "vgg16",
                        "content_layer": "relu2_2", "style_layers": ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]},
               source="https://github.com/pytorch/examples/blob/main/fast_neural_style/neural_style/neural_style.py "
                      "(train arguments) and its README",
               description="pytorch/examples fast_neural_style: VGG16 content relu2_2 x 1e5, Gram style relu1_2.."
                           "relu4_3 x 1e10, no TV term, Adam 1e-3, batch 4, 256 px, 2 epochs of COCO 2014",
               differences=("its README trained mosaic with style weight 1e10 and candy, rain-princess and udnie with "
                            "5e10 or 1e11 (not said which); the recipe keeps the script's 1e10",)),
        Recipe(name="engstrom", task="style-transfer",
               options={"lr": 1e-3, "batch_size": 4, "epochs": 2, "steps": 0, "image_size": 256, "vgg": "vgg19",
                        "content_layer": "relu4_2",
                        "style_layers": ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"],
                        "content_weight": round(7.5 * ENGSTROM_SCALE ** 2, -2),
                        "style_weight": round(100.0 * ENGSTROM_SCALE ** 4, -7), "tv_weight": 200.0},
               source="https://github.com/lengstrom/fast-style-transfer/blob/master/style.py (defaults) and "
                      "src/optimize.py (the losses)",
               description="Engstrom's fast-style-transfer (the ml5.js models): VGG19 content relu4_2, Gram style "
                           "relu1_1..relu5_1, TV 200 on 0..255 outputs, Adam 1e-3, batch 4, 256 px, 2 epochs",
               differences=("VGG19 is torchvision's ImageNet model with ImageNet mean/std input normalisation, not "
                            "MatConvNet's imagenet-vgg-verydeep-19.mat on mean-subtracted 0..255 pixels, so Engstrom's "
                            "content weight 7.5 and style weight 100 are rescaled by (255 * 0.226)^2 and ^4",
                            "ml5.js does not say which options each of its models was trained with")),
    ]
