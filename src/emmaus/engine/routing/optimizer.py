"""A small deterministic L-BFGS minimiser in numpy (no scipy): the training objective is convex
and smooth, so a backtracking Armijo line search is enough."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


def lbfgs(
    objective: Objective,
    x0: np.ndarray,
    *,
    max_iter: int = 300,
    memory: int = 10,
    tol: float = 1e-6,
) -> np.ndarray:
    """Minimise `objective` (returning value and gradient) from `x0`; returns the argmin found."""
    x = x0.astype(np.float64, copy=True)
    value, grad = objective(x)
    s_list: list[np.ndarray] = []
    y_list: list[np.ndarray] = []
    for _ in range(max_iter):
        gnorm = float(np.max(np.abs(grad))) if grad.size else 0.0
        if gnorm < tol:
            break
        direction = -_two_loop(grad, s_list, y_list)
        slope = float(direction @ grad)
        if slope >= 0:  # not a descent direction: restart from the gradient
            s_list.clear()
            y_list.clear()
            direction = -grad
            slope = float(direction @ grad)
        step = 1.0 if s_list else min(1.0, 1.0 / max(gnorm, 1e-12))
        for _ in range(40):
            candidate = x + step * direction
            new_value, new_grad = objective(candidate)
            if new_value <= value + 1e-4 * step * slope:
                break
            step *= 0.5
        else:
            break
        s, yv = candidate - x, new_grad - grad
        if float(s @ yv) > 1e-10:
            s_list.append(s)
            y_list.append(yv)
            if len(s_list) > memory:
                s_list.pop(0)
                y_list.pop(0)
        improvement = value - new_value
        x, value, grad = candidate, new_value, new_grad
        if improvement <= tol * max(1.0, abs(value)) * 1e-3:
            break
    return x


def _two_loop(grad: np.ndarray, s_list: list[np.ndarray], y_list: list[np.ndarray]) -> np.ndarray:
    q = grad.copy()
    alphas = []
    rhos = [1.0 / float(y @ s) for s, y in zip(s_list, y_list, strict=True)]
    for s, y, rho in zip(reversed(s_list), reversed(y_list), reversed(rhos), strict=True):
        alpha = rho * float(s @ q)
        alphas.append(alpha)
        q -= alpha * y
    if s_list:
        s, y = s_list[-1], y_list[-1]
        q *= float(s @ y) / float(y @ y)
    for (s, y, rho), alpha in zip(zip(s_list, y_list, rhos, strict=True), reversed(alphas),
                                  strict=True):  # fmt: skip
        beta = rho * float(y @ q)
        q += (alpha - beta) * s
    return q
