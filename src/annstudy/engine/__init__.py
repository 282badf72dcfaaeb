"""Training engine: device setup, optimizers, the training loop and evaluation."""
