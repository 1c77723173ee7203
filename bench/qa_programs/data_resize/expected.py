# Hand migration of before.py with the 0.3 meaning: the holders themselves are resized and filled.
import torch
import torch.nn as nn

torch.manual_seed(13)
model = nn.Sequential(nn.Linear(6, 10), nn.ReLU(), nn.Linear(10, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
im_data = torch.FloatTensor(1)
gt = torch.FloatTensor(1)
for step in range(5):
    batch = torch.randn(8, 6)
    target = batch[:, :2] * 0.5
    im_data.resize_(batch.size()).copy_(batch)
    gt.resize_(target.size()).copy_(target)
    out = model(im_data)
    loss = ((out - gt) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(step, tuple(im_data.size()), loss.item())
