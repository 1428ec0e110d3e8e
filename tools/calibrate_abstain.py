"""Print the evidence (best retrieval score, term coverage) for labelled on- and off-topic
questions about the seed corpus, to place the abstention thresholds of rag/abstain.py.

    .venv/bin/python tools/calibrate_abstain.py
"""

import json
from pathlib import Path

from rag.abstain import assess
from rag.pipeline import Pipeline

rows = [json.loads(line) for line in open(Path(__file__).with_name("abstain_questions.jsonl"))]
p = Pipeline(log=lambda *_: None)
by_label = {True: [], False: []}
for row in rows:
    ev = assess(row["q"], p.retrieve(row["q"]), p.config)
    by_label[row["on_topic"]].append(ev)
    print(f"{'on ' if row['on_topic'] else 'off'}  score {ev.score:.3f}  coverage {ev.coverage:.2f}  "
          f"{'answer' if ev.answerable else 'refuse'}  {row['q']}")
for label, evs in by_label.items():
    s, c = [e.score for e in evs], [e.coverage for e in evs]
    ok = sum(e.answerable == label for e in evs)
    print(f"{'on-topic ' if label else 'off-topic'} ({len(evs)}): score {min(s):.2f}-{max(s):.2f}, "
          f"coverage {min(c):.2f}-{max(c):.2f}, decided right {ok}/{len(evs)}")
