# Preallocated input holders refilled with `.data.resize_(...).copy_(...)` each step (a detection
# training-loop idiom). In 0.3 `.data` was the holder's own tensor, so this resized the holder.
import torch
import torch.nn as nn
from torch.autograd import Variable

torch.manual_seed(13)
model = nn.Sequential(nn.Linear(6, 10), nn.ReLU(), nn.Linear(10, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
im_data = Variable(torch.FloatTensor(1))
gt = Variable(torch.FloatTensor(1))
for step in range(5):
    batch = torch.randn(8, 6)
    target = batch[:, :2] * 0.5
    im_data.data.resize_(batch.size()).copy_(batch)
    gt.data.resize_(target.size()).copy_(target)
    out = model(im_data)
    loss = ((out - gt) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(step, tuple(im_data.size()), loss.data[0])
