# No trigger word of its own: the legacy Function arrives through `from layers import *`.
import torch.nn as nn
from layers import *


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc = nn.Linear(4, 3)
        self.scale = Scale(2.0)

    def forward(self, x):
        return self.scale(self.fc(x))
