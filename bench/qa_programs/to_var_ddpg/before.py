# DDPG update with a `to_var(x, volatile=False)` helper: the target Q comes from volatile next
# states through the target networks and is made a constant with `.volatile = False`.
import numpy as np
import torch
import torch.nn as nn
from torch.autograd import Variable


def to_var(x, volatile=False, requires_grad=False):
    return Variable(torch.from_numpy(x).float(), volatile=volatile, requires_grad=requires_grad)


class Actor(nn.Module):
    def __init__(self):
        super(Actor, self).__init__()
        self.fc1, self.fc2 = nn.Linear(3, 16), nn.Linear(16, 1)

    def forward(self, s):
        return torch.tanh(self.fc2(torch.relu(self.fc1(s))))


class CriticNet(nn.Module):
    def __init__(self):
        super(CriticNet, self).__init__()
        self.fc1, self.fc2 = nn.Linear(4, 16), nn.Linear(16, 1)

    def forward(self, xs):
        s, a = xs
        return self.fc2(torch.relu(self.fc1(torch.cat([s, a], 1))))


def soft_update(target, source, tau):
    for target_param, param in zip(target.parameters(), source.parameters()):
        target_param.data.copy_(target_param.data * (1.0 - tau) + param.data * tau)


def hard_update(target, source):
    for target_param, param in zip(target.parameters(), source.parameters()):
        target_param.data.copy_(param.data)


torch.manual_seed(17)
rng = np.random.RandomState(17)
actor, actor_target, critic, critic_target = Actor(), Actor(), CriticNet(), CriticNet()
hard_update(actor_target, actor)
hard_update(critic_target, critic)
actor_optim = torch.optim.Adam(actor.parameters(), lr=1e-3)
critic_optim = torch.optim.Adam(critic.parameters(), lr=1e-3)
criterion = nn.MSELoss()
for it in range(5):
    s, a = rng.randn(16, 3), rng.uniform(-1, 1, (16, 1))
    r, s2, done = rng.randn(16, 1), rng.randn(16, 3), (rng.rand(16, 1) < 0.1).astype(np.float64)
    next_q_values = critic_target([to_var(s2, volatile=True), actor_target(to_var(s2, volatile=True))])
    next_q_values.volatile = False
    target_q_batch = to_var(r) + 0.99 * to_var(1 - done) * next_q_values
    critic.zero_grad()
    q_batch = critic([to_var(s), to_var(a)])
    value_loss = criterion(q_batch, target_q_batch)
    value_loss.backward()
    critic_optim.step()
    actor.zero_grad()
    policy_loss = -critic([to_var(s), actor(to_var(s))]).mean()
    policy_loss.backward()
    actor_optim.step()
    soft_update(actor_target, actor, 0.01)
    soft_update(critic_target, critic, 0.01)
    print(it, value_loss.data[0], policy_loss.data[0])
