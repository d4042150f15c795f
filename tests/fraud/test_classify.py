"""The shipped model, and the measurement that made it."""

from __future__ import annotations

from pathlib import Path

import pytest

from telsec.fraud.classify import (
    fit,
    load_examples,
    scores,
    shipped_model,
    split,
)
from telsec.fraud.extract import template

SMS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sms"
needs_data = pytest.mark.skipif(not SMS.is_dir(), reason="shared SMS sets not present")


def test_the_shipped_model_reads_obvious_messages() -> None:
    model = shipped_model()
    texts = [
        "Are we still on for dinner tonight? I can pick you up at 7",
        "URGENT! You have won a 1 week FREE membership in our £100,000 Prize Jackpot! "
        "Txt the word: CLAIM to No: 81010",
        "Dear Customer, your account is blocked, verify your details at http://secure-bank-login.com",
    ]
    probabilities = model.probabilities([template(t) for t in texts])
    labels = [model.classes[i] for i in probabilities.argmax(axis=1)]
    assert labels[0] == "ham" and labels[1] != "ham" and labels[2] == "smishing"
    assert model.info["held_out"]["smishing_vs_rest"]["f1"] > 0.8


@needs_data
def test_no_text_in_both_sets_is_ever_tested() -> None:
    examples = load_examples(SMS)
    train, test = split(examples, seed=0)
    assert all(e.origin != "both" for e in test)
    assert {e.text for e in train}.isdisjoint({e.text for e in test})
    assert sum(1 for e in examples if e.origin == "both") > 4900


@needs_data
def test_held_out_scores_as_recorded() -> None:
    """The figure in docs/fraud.md: the model refit on the train split of seed 0."""
    examples = load_examples(SMS)
    train, test = split(examples, seed=0)
    result = scores(fit(train), test)
    assert result["smishing_vs_rest"]["f1"] == pytest.approx(
        shipped_model().info["held_out"]["smishing_vs_rest"]["f1"], abs=0.01
    )
    assert result["unwanted_vs_ham"]["f1"] > 0.95
