"""Scanned PDFs measured: the seed documents drawn as page images (200 dpi, a new page for each
paragraph, no text layer), read back by the product (rag/ingest/pdf.py: pypdfium2 + Tesseract),
then asked the seed development questions.

    .venv/bin/python tools/ocr_check.py [--pages 20] [--questions 40]

Prints, per document and in all: the share of the seed's words recovered (the multiset overlap
of lower-cased words, over the seed's), the seconds per page, then for the answerable seed
questions whether the product answers (or refuses) on the scanned copies as it does on the text,
and how often its answer is the same; and the time to index a 20-page scanned PDF.
Nothing here is fitted.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PAGE = (1654, 2339)  # A4 at 200 dpi
FONT, LINE, MARGIN = 30, 44, 130  # about 11 pt type


def scanned_pdf(path: Path, paragraphs: list[str], size: int = FONT) -> int:
    """Draw `paragraphs` as an image-only PDF at 200 dpi, each from the top of a new page (a long
    one runs on to the next); returns the page count."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=size)  # Pillow's own font: the same on every machine
    pages: list = []

    def new_page():
        pages.append(Image.new("L", PAGE, 255))
        return ImageDraw.Draw(pages[-1]), MARGIN

    for paragraph in paragraphs:
        draw, y = new_page()
        for source_line in paragraph.split("\n"):
            line = ""
            for word in source_line.split() + [None]:
                if word is None or draw.textlength(f"{line} {word}".strip(), font=font) > PAGE[0] - 2 * MARGIN:
                    if y + LINE > PAGE[1] - MARGIN:
                        draw, y = new_page()
                    draw.text((MARGIN, y), line, font=font, fill=0)
                    line, y = word or "", y + LINE
                else:
                    line = f"{line} {word}".strip()
    pages[0].save(path, save_all=True, append_images=pages[1:], resolution=200)
    return len(pages)


def words(text: str) -> Counter:
    return Counter(re.findall(r"[a-z0-9]+", text.lower()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=20, help="pages of the scanned PDF whose indexing is timed")
    ap.add_argument("--questions", type=int, default=80, help="seed development questions asked (answerable ones)")
    args = ap.parse_args()
    from rag.config import Config
    from rag.ingest import pdf
    from rag.ingest.read import read_document
    from rag.pipeline import Pipeline

    tmp = Path(tempfile.mkdtemp(prefix="ocr-check-"))
    pdf._cache_dir = lambda: tmp / "ocr"  # a cold cache: every page is recognised here
    scans, report, total_seed, total_hit, total_pages, total_s = tmp / "scans", {}, 0, 0, 0, 0.0
    scans.mkdir()
    for seed in sorted((ROOT / "seeds").glob("*.txt")):
        text = seed.read_text()
        n = scanned_pdf(scans / f"{seed.stem}.pdf", [p for p in text.split("\n\n") if p.strip()])
        t = time.perf_counter()
        doc = read_document(scans / f"{seed.stem}.pdf")
        seconds = time.perf_counter() - t
        want, got = words(text), words(doc.text)
        hit = sum((want & got).values())
        report[seed.stem] = {"pages": n, "recovered": round(hit / sum(want.values()), 4),
                             "s_per_page": round(seconds / n, 2)}
        total_seed, total_hit, total_pages, total_s = (total_seed + sum(want.values()), total_hit + hit,
                                                       total_pages + n, total_s + seconds)
        print(seed.stem, report[seed.stem], flush=True)
    print(f"words recovered: {total_hit}/{total_seed} = {total_hit / total_seed:.4f}; "
          f"{total_s / total_pages:.2f} s per page over {total_pages} pages", flush=True)

    rows = [json.loads(line) for line in (ROOT.parent / "shared" / "eval" / "seeds" / "questions.jsonl").open()]
    asked = [r for r in rows if r.get("answerable") and not r.get("history")][: args.questions]
    base = Config.from_env()
    text_pipe = Pipeline(base.with_(index_dir=tmp / "index-text", uploads_dir=tmp / "none"), log=lambda *_: None)
    scan_pipe = Pipeline(base.with_(docs_dir=scans, index_dir=tmp / "index-scan", uploads_dir=tmp / "none"),
                         embedder=text_pipe.embedder, generator=text_pipe.generator, log=lambda *_: None)
    same_decision = same_text = keyed_text = keyed_scan = 0
    for r in asked:
        a, b = text_pipe.answer(r["question"]), scan_pipe.answer(r["question"])
        same_decision += a.abstained == b.abstained
        same_text += " ".join(a.text.split()) == " ".join(b.text.split())
        keys = [k.lower() for k in r.get("keys_any", [])]
        keyed_text += not a.abstained and any(k in a.text.lower() for k in keys)
        keyed_scan += not b.abstained and any(k in b.text.lower() for k in keys)
    n = len(asked)
    print(f"{n} answerable seed questions: same answer-or-refuse {same_decision}/{n}, same text {same_text}/{n}, "
          f"a key in the answer: text {keyed_text}/{n}, scanned {keyed_scan}/{n}", flush=True)

    paragraphs = [p for seed in sorted((ROOT / "seeds").glob("*.txt")) for p in seed.read_text().split("\n\n")]
    one = tmp / "one"
    one.mkdir()
    chosen = paragraphs[: args.pages]
    while (pages := scanned_pdf(one / "scan.pdf", chosen)) > args.pages:  # long paragraphs run on
        chosen = chosen[:-1]
    pdf._cache_dir = lambda: tmp / "ocr-cold"
    t = time.perf_counter()
    Pipeline(base.with_(docs_dir=one, index_dir=tmp / "index-one", uploads_dir=tmp / "none"),
             embedder=text_pipe.embedder, generator=text_pipe.generator, log=lambda *_: None).load_index()
    print(f"indexing a {pages}-page scanned PDF: {time.perf_counter() - t:.1f} s (OCR and embedding, cold cache)")


if __name__ == "__main__":
    main()
