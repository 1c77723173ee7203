import torch
from torch.autograd import Function


class Scale(Function):
    """A legacy Function configured in __init__ (ssd.pytorch's Detect, XNOR-Net's BinActive)."""

    def __init__(self, alpha):
        super(Scale, self).__init__()
        self.alpha = alpha

    def forward(self, x):
        self.save_for_backward(x)
        return x * self.alpha

    def backward(self, grad_output):
        x, = self.saved_tensors
        return grad_output * self.alpha
