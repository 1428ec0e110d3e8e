"""The product measured on public benchmark data: `python -m rag eval retrieval|qa`.

    data.py      benchmark files: BEIR corpora, queries and qrels, JSONL question sets
    metrics.py   retrieval (nDCG, recall, MRR) and question answering (SQuAD 2.0) scores
    run.py       running the product over a benchmark, and the tables it prints
"""
