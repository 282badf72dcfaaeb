"""Neural-network pieces written from scratch in NumPy, to read and learn from.

- :mod:`annstudy.scratch.mlp`: a one-hidden-layer MLP with its forward pass, the
  backward pass derived by hand, and mini-batch gradient descent.
- :mod:`annstudy.scratch.conv2d`: the forward pass of a 2D convolution as one matrix
  product over sliding windows (im2col), plus a small bank of classic kernels.

Nothing here imports PyTorch: the study module ``annstudy.studies.from_scratch.run``
checks these implementations against ``torch`` (autograd gradients, ``F.conv2d``).
"""
