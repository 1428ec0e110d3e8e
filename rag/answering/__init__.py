"""Building the answer from retrieved passages, in the order the pipeline runs it.

    question.py   the question read once: its words, names, numbers, what it asks for (`Question`)
    evidence.py   the passage sentences that answer it
    abstain.py    whether the evidence answers at all (rules and a calibrated confidence)
    prompt.py     what the generator reads, and when its decoding stops
    check.py      each generated sentence tied to a passage that supports it, or dropped
    quote.py      the evidence quoted verbatim when the generated text does not carry it

Plain data in and out: no model is called here (the pipeline hands in the vectors).
"""
