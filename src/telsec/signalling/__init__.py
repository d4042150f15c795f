"""Signalling security: SS7/SIGTRAN and Diameter captures in, Global Title misuse out.

Owns the decoder (:mod:`.capture` -> :mod:`.transport` -> :mod:`.mtp` ->
:mod:`.sccp` -> :mod:`.tcap` -> :mod:`.map`, and :mod:`.diameter`), the
traffic generator with ground truth (:mod:`.generate`, built on
:mod:`.encode`), and the screening rules that turn records into findings.
"""
