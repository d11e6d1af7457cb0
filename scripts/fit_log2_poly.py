#!/usr/bin/env python3
"""Fits the polynomial behind src/dsp/db.rs's fast log2: log2(1 + t) ~= t * P(t) on
t in [sqrt(1/2) - 1, sqrt(2) - 1], least squares on Chebyshev nodes. Prints the coefficients
(lowest order first) and the maximum error over a dense grid."""
import numpy as np

LO, HI = np.sqrt(0.5) - 1, np.sqrt(2) - 1
DEGREE = 6  # of t * P(t)

x = np.cos(np.linspace(0, np.pi, 4000))
t = LO + (x + 1) / 2 * (HI - LO)
t = t[np.abs(t) > 1e-9]
coeffs = np.polynomial.polynomial.polyfit(t, np.log2(1 + t) / t, DEGREE - 1)
grid = np.linspace(LO, HI, 200001)
err = np.max(np.abs(grid * np.polynomial.polynomial.polyval(grid, coeffs) - np.log2(1 + grid)))
print("coefficients:", ", ".join(f"{c:.9}" for c in coeffs))
print(f"max |error| in log2: {err:.3g}  (in dB of power: {10 * np.log10(2) * err:.3g})")
