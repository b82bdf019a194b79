import torch


def f(x):
	return x.cuda()  # tab-indented, CRLF
device_utilsch.zeros(1, device="cuda")