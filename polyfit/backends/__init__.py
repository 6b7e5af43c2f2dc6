"""Backends that execute an evaluation plan (:mod:`polyfit.plan`) outside plain float64.

- :mod:`polyfit.backends.ckks`: TenSEAL CKKS ciphertexts (extra ``he``; imported lazily).
- :mod:`polyfit.backends.fixed_point`: exact-integer simulation of a 2^R ring with F
  fractional bits (truncation after each product, or single rescale).

:func:`polyfit.verification.verify` drives both; see docs/verify.md.
"""
