# Hand migration of before.py with the 0.3 meaning: the bootstrap values carry no graph.
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(16)
model = nn.Sequential(nn.Linear(3, 12), nn.Tanh(), nn.Linear(12, 2))
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
BATCH, GAMMA = 8, 0.95
for step in range(6):
    state_batch = torch.randn(BATCH, 3)
    action_batch = (torch.rand(BATCH, 1) * 2).long()
    reward_batch = torch.randn(BATCH)
    next_states = [torch.randn(1, 3) if (i + step) % 3 else None for i in range(BATCH)]
    non_final_mask = torch.ByteTensor(tuple(map(lambda s: s is not None, next_states)))
    non_final_next_states = torch.cat([s for s in next_states if s is not None])
    state_action_values = model(state_batch).gather(1, action_batch)
    next_state_values = torch.zeros(BATCH)
    with torch.no_grad():
        next_state_values[non_final_mask] = model(non_final_next_states).max(1)[0]
    expected_state_action_values = (next_state_values * GAMMA) + reward_batch
    loss = F.smooth_l1_loss(state_action_values, expected_state_action_values.unsqueeze(1))
    opt.zero_grad()
    loss.backward()
    for param in model.parameters():
        param.grad.clamp_(-1, 1)
    opt.step()
    print(step, loss.item())
