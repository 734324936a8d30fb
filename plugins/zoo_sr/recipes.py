"""The training recipes behind the super-resolution entries, as ``zoo train`` options, with their sources.

Catalog entries name them (``recipe: realesrgan``); ``differences`` lists what ``zoo train`` does differently on
purpose (docs/training.md collects them).
"""

from __future__ import annotations

from zoo.registry import Recipe

REAL_ESRGAN = "https://github.com/xinntao/Real-ESRGAN/blob/master/options"
BASICSR = "https://github.com/XPixelGroup/BasicSR/blob/master/options/train"
#: Real-ESRGAN's perceptual layers (before ReLU) and weights
REALESRGAN_LAYERS = {"conv1_2": 0.1, "conv2_2": 0.1, "conv3_4": 1.0, "conv4_4": 1.0, "conv5_4": 1.0}
_REAL_DEGRADATION = (
    "degradation=realesrgan has no sinc filters, generalized/plateau kernels, Poisson noise, USM sharpening of the "
    "ground truth or training-pair queue (queue_size 180)")
_PER_GPU = "upstream's batch is 12 per GPU on 4 GPUs (48 in all); batch_size here is per process (torchrun for more)"
_REAL_PIXEL = {"degradation": "realesrgan", "patch_size": 256, "batch_size": 12, "betas": [0.9, 0.99], "ema": 0.999,
               "pixel_loss": "l1", "pixel_weight": 1.0, "flip": True, "rotate": False}


def recipes() -> list[Recipe]:
    return [
        Recipe(name="realesrgan", task="super-resolution",
               options={**_REAL_PIXEL, "stage": "gan", "lr": 1e-4, "d_lr": 1e-4, "steps": 400000,
                        "lr_policy": "step", "lr_milestones": [400000], "lr_gamma": 0.5,
                        "perceptual_loss": "vgg_perceptual", "perceptual_weight": 1.0,
                        "perceptual_options": {"arch": "vgg19", "layer_weights": REALESRGAN_LAYERS, "criterion": "l1"},
                        "gan_type": "vanilla", "gan_weight": 0.1, "discriminator": "unet_discriminator_sn",
                        "discriminator_kwargs": {"num_in_ch": 3, "num_feat": 64, "skip_connection": True}},
               source=f"{REAL_ESRGAN}/train_realesrgan_x4plus.yml (x2: train_realesrgan_x2plus.yml, the same values)",
               description="Real-ESRGAN GAN stage: L1 + VGG19 perceptual (conv1_2..conv5_4) + 0.1 GAN with the U-Net "
                           "discriminator (spectral norm), high-order degradations, 256 px, Adam 1e-4 (0.9, 0.99), "
                           "EMA 0.999, 400k iterations",
               differences=(_PER_GPU, _REAL_DEGRADATION,
                            "used for realesrgan-x4plus-anime, realesr-animevideov3 and realesr-general-x4v3 too, "
                            "whose own training options are not published")),
        Recipe(name="realesrnet", task="super-resolution",
               options={**_REAL_PIXEL, "stage": "pixel", "lr": 2e-4, "steps": 1000000, "lr_policy": "step",
                        "lr_milestones": [1000000], "lr_gamma": 0.5},
               source=f"{REAL_ESRGAN}/train_realesrnet_x4plus.yml",
               description="RealESRNet: the Real-ESRGAN generator with L1 only on the same degradations, Adam 2e-4 "
                           "(0.9, 0.99), EMA 0.999, 1M iterations",
               differences=(_PER_GPU, _REAL_DEGRADATION)),
        Recipe(name="esrgan", task="super-resolution",
               options={"stage": "gan", "degradation": "bicubic", "patch_size": 128, "batch_size": 16, "lr": 1e-4,
                        "d_lr": 1e-4, "betas": [0.9, 0.99], "ema": 0.999, "pixel_loss": "l1", "pixel_weight": 0.01,
                        "perceptual_loss": "vgg_perceptual", "perceptual_weight": 1.0,
                        "perceptual_options": {"arch": "vgg19", "layer_weights": {"conv5_4": 1.0}, "criterion": "l1"},
                        "gan_type": "ragan", "gan_weight": 0.005, "discriminator": "vgg_style_discriminator",
                        "discriminator_kwargs": {"num_in_ch": 3, "num_feat": 64}, "steps": 400000,
                        "lr_policy": "step", "lr_milestones": [50000, 100000, 200000, 300000], "lr_gamma": 0.5,
                        "flip": True, "rotate": True},
               source=f"{BASICSR}/ESRGAN/train_ESRGAN_x4.yml",
               description="ESRGAN: 0.01 L1 + VGG19 conv5_4 (before ReLU) + 0.005 relativistic average GAN with the "
                           "VGG-style discriminator (128 px), Adam 1e-4 (0.9, 0.99), EMA 0.999, 400k iterations",
               differences=("BasicSR trains on DIV2K sub-images (the paper on DF2K + OST); LR patches are made here "
                            "with MATLAB-compatible bicubic from the HR images given",)),
        Recipe(name="rrdb-psnr", task="super-resolution",
               options={"stage": "pixel", "degradation": "bicubic", "patch_size": 128, "batch_size": 16, "lr": 2e-4,
                        "betas": [0.9, 0.99], "ema": 0.999, "pixel_loss": "l1", "pixel_weight": 1.0,
                        "steps": 1000000, "lr_policy": "cosine", "flip": True, "rotate": True},
               source=f"{BASICSR}/ESRGAN/train_RRDBNet_PSNR_x4.yml",
               description="RRDB_PSNR: RRDBNet with L1, Adam 2e-4 (0.9, 0.99), EMA 0.999, 128 px, 1M iterations",
               differences=("upstream's cosine schedule restarts every 250k iterations (eta_min 1e-7); "
                            "lr_policy=cosine here is one cosine over all steps",)),
        Recipe(name="msrresnet", task="super-resolution",
               options={"stage": "pixel", "degradation": "bicubic", "patch_size": 128, "batch_size": 16, "lr": 2e-4,
                        "betas": [0.9, 0.999], "pixel_loss": "l1", "pixel_weight": 1.0, "steps": 1000000,
                        "lr_policy": "cosine", "flip": True, "rotate": True},
               source="https://github.com/open-mmlab/mmagic/blob/main/configs/srgan_resnet/"
                      "msrresnet_x4c64b16_1xb16-1000k_div2k.py",
               description="MSRResNet (mmediting): L1, Adam 2e-4 (0.9, 0.999), 128 px, batch 16, 1M iterations",
               differences=("mmediting's cosine schedule restarts every 250k iterations (eta_min 1e-7); here one "
                            "cosine over all steps",
                            "mmediting reads pre-made bicubic LR sub-images (DIV2K X4_sub); here LR patches are made "
                            "on the fly with MATLAB-compatible bicubic")),
        Recipe(name="vdsr", task="super-resolution-y",
               options={"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4, "grad_clip": 0.4,
                        "pixel_loss": "l2", "pixel_loss_options": {"reduction": "sum"}, "batch_size": 128,
                        "patch_size": 41, "steps": 0, "epochs": 50, "lr_policy": "step",
                        "lr_milestones": [0.2, 0.4, 0.6, 0.8], "lr_gamma": 0.1, "flip": True, "rotate": True},
               source="https://github.com/twtygqyy/pytorch-vdsr/blob/master/main_vdsr.py (the code that made "
                      "model_epoch_50.pth)",
               description="VDSR (twtygqyy): SGD 0.1, momentum 0.9, weight decay 1e-4, summed MSE, gradient norm "
                           "clipped at 0.4, batch 128 of 41 px patches, 50 epochs with the LR x0.1 every 10",
               differences=("the released code clips the gradient norm at a fixed 0.4 (clip_grad_norm(params, "
                            "opt.clip)); the paper's adjustable clipping (theta / learning rate) is not what made "
                            "these weights",
                            "upstream trains x2, x3 and x4 together from a pre-cut train.h5; here one scale per run "
                            "(scale=, default the entry's 4) and an epoch is one random patch per image (x repeat)")),
        Recipe(name="espcn", task="super-resolution-luma",
               options={"pixel_loss": "l2", "patch_size": 51, "lr": 1e-3, "lr_policy": "cosine"},
               source="Shi et al., CVPR 2016 (https://arxiv.org/abs/1609.05158), section 3.2: MSE, 17 x 17 LR "
                      "sub-images from the 91 training images",
               description="ESPCN: MSE on the luma, 17 px LR patches (51 px at x3), tanh activations (the entry's "
                           "kwargs)",
               differences=("optimiser: Adam 1e-3 with cosine decay; the paper starts at 0.01 and decays to 1e-4 when "
                            "the loss stops improving (optimiser not named)",
                            "espcn-x3-t91's weights were trained before this recipe with L1 and 72 px patches "
                            "(benchmarks/train_espcn_t91.py)")),
    ]
