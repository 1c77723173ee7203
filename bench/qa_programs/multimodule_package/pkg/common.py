import torch
import torch.nn as nn
from torch.autograd import Variable


def to_var(x, requires_grad=False):
    return Variable(x, requires_grad=requires_grad)
