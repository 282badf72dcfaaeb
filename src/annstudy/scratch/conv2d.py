"""2D convolution (forward pass) from scratch: sliding windows + one matrix product.

Shapes: input ``x`` [N, C, H, W], weights ``w`` [O, C, kh, kw], no padding, stride 1::

    out[n, o, i, j] = b[o] + sum_{c, u, v} x[n, c, i + u, j + v] * w[o, c, u, v]
    out: [N, O, H - kh + 1, W - kw + 1]

(Like every deep-learning library this is really *cross-correlation*: the kernel is
not flipped.) Instead of four loops over pixels, :func:`conv2d` takes a *view* of all
``kh x kw`` windows of every channel, ``[N, C, Ho, Wo, kh, kw]`` (no copy: NumPy only
changes the strides), and contracts the ``C, kh, kw`` axes against the kernels with
one ``tensordot`` — exactly the "im2col" trick: rows = windows, columns = kernels.

:data:`KERNELS` is a small bank of classic hand-made 3x3 kernels used to show what
convolution does to an image (the study's feature-map figure).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Valid (unpadded), stride-1 convolution of ``x`` [N, C, H, W] with ``w`` [O, C, kh, kw].

    Returns [N, O, H - kh + 1, W - kw + 1] in the dtype NumPy promotes ``x`` and ``w`` to.
    Raises ``ValueError`` when the shapes do not fit together.
    """
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"conv2d: expected x [N,C,H,W] and w [O,C,kh,kw], got {x.shape} and {w.shape}")
    _, C, H, W = x.shape
    _, Cw, kh, kw = w.shape  # O kernels
    if C != Cw:
        raise ValueError(f"conv2d: x has {C} channels but the kernels expect {Cw}")
    if kh > H or kw > W:
        raise ValueError(f"conv2d: kernel {kh}x{kw} is larger than the image {H}x{W}")
    windows = sliding_window_view(x, (kh, kw), axis=(2, 3))  # [N, C, Ho, Wo, kh, kw], a view
    out = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3]))  # [N, Ho, Wo, O]
    out = out.transpose(0, 3, 1, 2)  # [N, O, Ho, Wo]
    if b is not None:
        out = out + b[None, :, None, None]
    return np.ascontiguousarray(out)


# Classic 3x3 kernels (name -> kernel), as a learner meets them in image processing.
KERNELS: dict[str, np.ndarray] = {
    # copies the centre pixel: the (cropped) input itself
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float32),
    # horizontal gradient (right minus left): responds to vertical edges, signed
    "sobel_x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32),
    # vertical gradient (bottom minus top): responds to horizontal edges, signed
    "sobel_y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float32),
    # second derivative in all directions: outlines, zero on flat regions
    "laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float32),
    # mean of the 3x3 neighbourhood: smooths, removes fine texture
    "box_blur": np.full((3, 3), 1 / 9, dtype=np.float32),
    # Gaussian-like weights (1 2 1 outer product / 16): gentler smoothing
    "gaussian_blur": np.outer([1, 2, 1], [1, 2, 1]).astype(np.float32) / 16,
    # identity + negative laplacian: boosts local contrast
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float32),
}


def kernel_bank(names: list[str] | tuple[str, ...]) -> np.ndarray:
    """The named kernels of :data:`KERNELS` stacked as single-channel weights [O, 1, 3, 3]."""
    unknown = [n for n in names if n not in KERNELS]
    if unknown:
        raise ValueError(f"unknown kernel(s) {unknown}; choose from {', '.join(KERNELS)}")
    return np.stack([KERNELS[n] for n in names])[:, None]
