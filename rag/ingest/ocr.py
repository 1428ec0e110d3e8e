"""`python -m rag.ingest.ocr FILE PAGE...`: render the 0-based PAGEs of a PDF and print what
Tesseract reads on each as it is read, one JSON line [page, text] per page. Run as a child
process by rag/ingest/pdf.py, so a renderer crash or hang stops here; leaves out caching and
bounds, which the parent keeps.
"""

from __future__ import annotations

import json
import math
import sys

from .pdf import DPI, MAX_PIXELS


def read_pages(path: str, pages: list[int]):
    """(page, text) for each of `pages`, one at a time."""
    import pypdfium2 as pdfium
    import pytesseract

    pdf = pdfium.PdfDocument(path)
    for i in pages:
        page = pdf[i]
        width, height = page.get_size()  # points: 1/72 inch
        scale = min(DPI / 72, math.sqrt(MAX_PIXELS / max(1.0, width * height)))
        image = page.render(scale=scale).to_pil()
        yield i, pytesseract.image_to_string(image, lang="eng")
        page.close()
    pdf.close()


if __name__ == "__main__":
    for page, text in read_pages(sys.argv[1], [int(p) for p in sys.argv[2:]]):
        print(json.dumps([page, text]), flush=True)
