"""Knowledge-distillation loss (HE-friendly AlexNet §3.3, after Hinton et al.).

With Q^τ = softmax(z/τ) and CE(p, q) = −Σ_i q_i log p_i (q the target distribution):

    mix  (the paper):  L = α·τ²·CE(Q_s^τ, Q_t^τ) + (1 − α)·CE(Q_s^1, y)
    add  (HElayers):   L = CE(Q_s^1, y) + α·τ²·CE(Q_s^τ, Q_t^τ)

τ = 10 and α = 0.1 as in the paper. τ² keeps the soft term's gradient on the scale of
the hard term's (the soft gradient shrinks as 1/τ²). CE(Q_s^τ, Q_t^τ) differs from
KL(Q_t^τ ‖ Q_s^τ) by the teacher's entropy, a constant for the student: same gradients.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ...errors import InputError

FORMS = ("mix", "add")


def _check_temperature(temperature) -> None:
    if isinstance(temperature, bool) or not (isinstance(temperature, (int, float)) and math.isfinite(temperature)
                                             and temperature > 0):
        raise InputError(f"temperature must be a finite number > 0, got {temperature!r}")


def soft_cross_entropy(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean over the batch of −Σ_i softmax(z_t/τ)_i · log softmax(z_s/τ)_i (teacher detached)."""
    _check_temperature(temperature)  # τ = 0 returned NaN
    target = F.softmax(teacher_logits.detach().float() / temperature, dim=-1)
    log_p = F.log_softmax(student_logits.float() / temperature, dim=-1)
    return -(target * log_p).sum(dim=-1).mean()


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor,
                      temperature: float = 10.0, alpha: float = 0.1, form: str = "mix") -> torch.Tensor:
    """α·τ²·CE(Q_s^τ, Q_t^τ) combined with CE(student, labels), ``form`` "mix" or "add".

    >>> z = torch.tensor([[2.0, 0.0]]); y = torch.tensor([0])
    >>> float(distillation_loss(z, z, y, alpha=0.0)) == float(F.cross_entropy(z, y))
    True
    """
    if form not in FORMS:
        raise InputError(f"distillation form {form!r} is not allowed; allowed: {', '.join(FORMS)}")
    _check_temperature(temperature)
    if not (isinstance(alpha, (int, float)) and 0.0 <= alpha <= 1.0):
        raise InputError(f"alpha must be in [0, 1], got {alpha!r}")
    if student_logits.shape != teacher_logits.shape:
        raise InputError(f"student logits {tuple(student_logits.shape)} and teacher logits "
                         f"{tuple(teacher_logits.shape)} differ in shape")
    hard = F.cross_entropy(student_logits.float(), labels)
    soft = alpha * temperature ** 2 * soft_cross_entropy(student_logits, teacher_logits, temperature)
    return soft + (1.0 - alpha) * hard if form == "mix" else soft + hard
