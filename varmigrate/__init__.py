"""varmigrate: migrate legacy PyTorch autograd code and verify gradients."""
__version__ = "0.1.0"
