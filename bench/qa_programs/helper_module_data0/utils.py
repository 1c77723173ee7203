# Helpers the training script calls with Variables: this module never imports torch
# (the 3D-ResNets / ImageNet-example layout of 2017: utils.py with meters and accuracy).


class AverageMeter(object):
    def __init__(self):
        self.reset()

    def reset(self):
        self.val = 0
        self.sum = 0
        self.count = 0

    def update(self, val, n=1):
        self.val = val
        self.sum += val * n
        self.count += n


def calculate_accuracy(outputs, targets):
    _, pred = outputs.topk(1, 1, True)
    pred = pred.t()
    correct = pred.eq(targets.view(1, -1))
    n_correct = correct.float().sum().data[0]
    return n_correct / targets.size(0)


def weight_norm(model):
    total = 0
    for p in model.parameters():
        total += p.norm().data[0] ** 2
    return total ** 0.5
