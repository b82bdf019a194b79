import torch


def run(x):
    # 在显卡上计算
    layer = torch.nn.Linear(4, 3)
    if torch.cuda.is_available():
        layer = layer.cuda()
        x = x.cuda()
    return layer(x).detach().cpu()
