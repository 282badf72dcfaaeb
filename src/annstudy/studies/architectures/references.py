"""The published numbers S1 is compared against, each with where it comes from.

Source of every value here: studies.md, S1, "Published ranges to compare against" (the
exercises' own figures for Fashion-MNIST) and its list of questions ("which architectures are
structurally akin"). PUBLISHED, PUBLISHED_RANGES and BARS apply to Fashion-MNIST only (on another
dataset the tables and the forest plot say so instead of comparing); LITERATURE, what literature.py
judges, holds cifar10_gray's ranges too.
"""

from __future__ import annotations

PUBLISHED_SOURCE = "studies.md, S1 'Published ranges to compare against' (from the exercises)"
PUBLISHED_DATASET = "fashion_mnist"  # the only dataset the ranges and bars below are for

BARS = {"mlp": 0.80, "cnn": 0.85}  # the exercise's bars: >= 0.80 plain ANN, >= 0.85 CNN

PUBLISHED_RANGES = {  # the ranges of PUBLISHED as numbers, for the forest plot
    "mlp_1": (0.87, 0.88),
    "mlp_2": (0.87, 0.88),
    "cnn_3": (0.89, 0.92),
    "cnn_4": (0.89, 0.92),
    "cnn_5": (0.89, 0.92),
    "lenet5": (0.89, 0.92),
    "cnn_bn4": (0.85, 0.85),  # a bar, not a range
}

PUBLISHED = {  # as the split table shows them
    "mlp_1": "0.87–0.88 (MLP); exercise bar ≥ 0.80",
    "mlp_2": "0.87–0.88 (MLP)",
    "cnn_3": "0.89–0.92 (small CNN)",
    "cnn_4": "0.89–0.92 (small CNN)",
    "cnn_5": "0.89–0.92 (small CNN)",
    "lenet5": "0.89–0.92 (small CNN)",
    "cnn_bn4": "exercise bar ≥ 0.85",
}

KIN = (  # structurally akin groups (the zoo's S1 architectures, studies.md S1): what differs between them
    (("mlp_1", "mlp_2"), "one hidden layer vs a second, bias-free FC-64 one"),
    (("cnn_3", "cnn_4", "cnn_5"), "small stacks of 3×3–7×7 convolutions with two max-pools, 3 to 6 conv layers"),
    (("lenet5", "cnn_bn4"), "conv blocks followed by dense layers (cnn_bn4 with BatchNorm and dropout)"),
)

# The literature comparison (literature.py): per dataset, each architecture's published range of test
# accuracy, as studies.md states it ("about"); lenet5 and cnn_bn4 have none on cifar10_gray (studies.md's
# CIFAR figures are the exercise's MLPs and small CNNs). A dataset not listed (image_csv) has no figures.
MLP_FASHION = (0.87, 0.88, "0.87–0.88 (MLP)")
CNN_FASHION = (0.89, 0.92, "0.89–0.92 (small CNN)")
LITERATURE = {
    "fashion_mnist": {
        "mlp_1": MLP_FASHION,
        "mlp_2": MLP_FASHION,
        **{arch: CNN_FASHION for arch in ("cnn_3", "cnn_4", "cnn_5", "lenet5", "cnn_bn4")},
    },
    "cifar10_gray": {
        "mlp_1": (0.39, 0.41, "39–41 % (MLP)"),
        "mlp_2": (0.39, 0.41, "39–41 % (MLP)"),
        **{arch: (0.58, 0.65, "58–65 % (small CNN)") for arch in ("cnn_3", "cnn_4", "cnn_5")},
    },
}
EXERCISE_BARS = {"fashion_mnist": {"mlp_1": 0.80, "cnn_bn4": 0.85}}  # the Fashion-MNIST exercise's bars
