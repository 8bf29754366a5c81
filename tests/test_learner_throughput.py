"""benchmarks/learner_throughput.py's matmul FLOP count, against the textbook count of a linear layer."""

import pytest

torch = pytest.importorskip("torch")

from benchmarks import learner_throughput  # noqa: E402


def test_matmul_flops_of_a_linear_layer_forward_and_backward():
    """y = x W^T + b with x (B, i), W (o, i): 2 B i o FLOPs forward; backward, the weight's gradient
    (2 B i o) and, when x needs one, the input's (2 B i o)."""
    b, i, o = 64, 43, 256
    layer = torch.nn.Linear(i, o)
    x = torch.randn(b, i)
    assert learner_throughput.matmul_flops(lambda: layer(x)) == 2 * b * i * o
    assert learner_throughput.matmul_flops(lambda: layer(x).sum().backward()) == 2 * (2 * b * i * o)
    xg = x.clone().requires_grad_(True)
    assert learner_throughput.matmul_flops(lambda: layer(xg).sum().backward()) == 3 * (2 * b * i * o)


def test_matmul_flops_survives_the_gradient_penalty_s_double_backward():
    """The discriminator's gradient penalty differentiates through a gradient (create_graph): torch's
    FlopCounterMode fails there; the count must go through and grow with it."""
    from learner.amp import Discriminator, gradient_penalty

    disc = Discriminator(43, (32, 32))
    x = torch.randn(16, 86)
    plain = learner_throughput.matmul_flops(lambda: disc(x).sum().backward())
    penalised = learner_throughput.matmul_flops(lambda: gradient_penalty(disc, x).backward())
    assert penalised > plain > 0
