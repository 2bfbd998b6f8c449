"""The numerical pieces training needs, in numpy only: a sparse design matrix and L-BFGS.

`Sparse` keeps (row, column, value) triplets; products are `np.bincount` sums, which run in a
fixed order, so results do not depend on threads. `lbfgs` is the textbook two-loop recursion
with a backtracking (Armijo) line search; the losses it minimises here are smooth and convex."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Sparse:
    rows: np.ndarray
    cols: np.ndarray
    data: np.ndarray
    shape: tuple[int, int]

    @classmethod
    def from_triplets(
        cls, rows: np.ndarray, cols: np.ndarray, data: np.ndarray, shape: tuple[int, int]
    ) -> Sparse:
        """Duplicates summed, entries ordered by (row, column)."""
        key = rows.astype(np.int64) * shape[1] + cols.astype(np.int64)
        unique, inverse = np.unique(key, return_inverse=True)
        summed = np.bincount(inverse, weights=data, minlength=unique.shape[0])
        return cls(
            (unique // shape[1]).astype(np.intp), (unique % shape[1]).astype(np.intp), summed, shape
        )

    def matvec(self, w: np.ndarray) -> np.ndarray:
        return np.bincount(self.rows, weights=self.data * w[self.cols], minlength=self.shape[0])

    def rmatvec(self, r: np.ndarray) -> np.ndarray:
        return np.bincount(self.cols, weights=self.data * r[self.rows], minlength=self.shape[1])

    def compact_columns(self) -> tuple[Sparse, np.ndarray]:
        """The matrix restricted to the columns that occur, and those columns' original ids."""
        used, cols = np.unique(self.cols, return_inverse=True)
        return Sparse(self.rows, cols.astype(np.intp), self.data, (self.shape[0], len(used))), used


Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """a . b without BLAS: BLAS may split a long dot over threads (slow on a busy machine, and
    its summation order then depends on the thread count); numpy's pairwise sum does not."""
    return float(np.multiply(a, b).sum())


def lbfgs(
    objective: Objective,
    x0: np.ndarray,
    maxiter: int = 200,
    memory: int = 10,
    gtol: float = 1e-6,
    ftol: float = 1e-9,
) -> np.ndarray:
    x = x0.astype(np.float64, copy=True)
    fx, g = objective(x)
    history: list[tuple[np.ndarray, np.ndarray, float]] = []
    for _ in range(maxiter):
        if float(np.max(np.abs(g))) < gtol:
            break
        q = g.copy()
        alphas: list[float] = []
        for s, y, rho in reversed(history):
            a = rho * dot(s, q)
            q -= a * y
            alphas.append(a)
        if history:
            s, y, _ = history[-1]
            q *= dot(s, y) / dot(y, y)
        else:
            q /= max(1.0, dot(g, g) ** 0.5)
        for (s, y, rho), a in zip(history, reversed(alphas), strict=True):
            b = rho * dot(y, q)
            q += (a - b) * s
        direction = -q
        slope = dot(g, direction)
        if slope >= 0:  # not a descent direction: restart from the gradient
            history.clear()
            direction = -g / max(1.0, dot(g, g) ** 0.5)
            slope = dot(g, direction)
        step = 1.0
        while True:
            candidate = x + step * direction
            f_new, g_new = objective(candidate)
            if f_new <= fx + 1e-4 * step * slope:
                break
            step *= 0.5
            if step < 1e-12:
                return x
        s, y = candidate - x, g_new - g
        sy = dot(s, y)
        if sy > 1e-12:
            history.append((s, y, 1.0 / sy))
            if len(history) > memory:
                history.pop(0)
        done = abs(fx - f_new) <= ftol * max(1.0, abs(fx))
        x, fx, g = candidate, f_new, g_new
        if done:
            break
    return x
