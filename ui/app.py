"""Web chat over the documents: a Gradio ChatInterface, served at / by ui/server.py.

While the answer is written the passages being read are shown, each sentence of the answer
as soon as it passed the check, and the generator's unchecked draft only collapsed and labelled
as a draft; then the checked answer with its [n] markers and, under it, the sources: title,
position in the document and the quoted passage.
On a phone the title takes one line and the introduction one small line (`CSS`).
Document text is escaped, never rendered as HTML or Markdown. No share link, analytics off.
Imports only rag's public API.
The `chat` endpoint is what gradio_client calls.
"""

from __future__ import annotations

import hashlib
import html
import logging
import os
import re
import threading
import time

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402

import rag  # noqa: E402

from .schema import pairs  # noqa: E402

log = logging.getLogger("rag.ui")
REDRAW_S = 0.1  # the answer being written is redrawn at most 10 times a second: each redraw is sent whole
READY = threading.Event()  # set once the index and models are loaded (warm_up)
MAX_UPLOAD_MB = 10  # rag/ingest/library.py checks it again; this is what the page says and Gradio enforces
# on a phone: the title on one line, the introduction small, so the conversation starts high on the screen
CSS = """
#title h1 { text-align: center; margin: 0.2rem 0 !important; }
#intro p { text-align: center; margin: 0 !important; }
@media (max-width: 640px) {
  #title .wide { display: none; }
  #title h1 { font-size: 1.05rem !important; line-height: 1.3 !important; white-space: nowrap; overflow: hidden;
              text-overflow: ellipsis; }
  #intro p { font-size: 0.75rem !important; line-height: 1.25 !important; }
}
"""
EXAMPLES = [
    "What is SoULS?",
    "Who wrote Localization: A Global Manifesto?",
    "What is relocalization?",
    "Who are the primary beneficiaries of SoULS?",
]


def escape(text: str) -> str:
    """Document text shown as text: HTML escaped, Markdown syntax neutralised."""
    text = html.escape(" ".join(text.split()), quote=False)
    return re.sub(r"([\\`*_{}\[\]()#+\-!|~>])", r"\\\1", text)


def highlight(quote: str, spans: tuple[tuple[int, int], ...]) -> str:
    """The quote as text, with the sentences that support the answer marked."""
    out, at = [], 0
    for start, end in spans:
        out += [escape(quote[at:start]), " <mark>", escape(quote[start:end]), "</mark> "]
        at = end
    out.append(escape(quote[at:]))
    return "".join(out).strip()


def answer_text(a: rag.Answer) -> str:
    """The answer as Markdown: a sentence quoted from the documents is shown as a quote
    (a block quote in quotation marks), a generated one as plain text."""
    if not any(s.quoted for s in a.statements):
        return html.escape(a.text, quote=False)
    notice = a.text.split(a.statements[0].text)[0].strip()  # "(Your question was shortened...)"
    out = [html.escape(notice, quote=False) + "\n"] if notice else []
    for s in a.statements:
        out.append(f"> “{escape(s.text)}” [{s.n}]\n>" if s.quoted else f"{escape(s.text)} [{s.n}]\n")
    out.append("\n<sub>Quoted word for word from the documents.</sub>")
    return "\n".join(out)


def where(c: rag.Citation) -> str:
    """Where a citation is: its page, linked to the PDF opened at it, and its characters."""
    page = (f'<a href="/files/{html.escape(c.doc_id)}#page={c.page}" target="_blank" rel="noopener">p. {c.page}</a> · '
            if c.page else "")
    return f"{page}characters {c.start}–{c.end}"


def render(a: rag.Answer) -> str:
    """The checked answer and its sources, as Markdown. Each [n] links to its source."""
    key = hashlib.sha1(a.text.encode()).hexdigest()[:8]  # anchors unique per answer
    text = re.sub(r"\[(\d+)\]", lambda m: f"[\\[{m[1]}\\]](#src-{key}-{m[1]})", answer_text(a))
    lines = [text]
    supported = [c for c in a.citations if c.supported]
    if supported:
        lines.append("\n**Sources**")
        for c in supported:
            lines.append(f'\n<span id="src-{key}-{c.n}"></span>**[{c.n}] {escape(c.title)}** · `{c.doc_id}` · '
                         f"{where(c)}\n> {highlight(c.quote, c.spans)}")
    elif a.abstained and a.citations:
        lines.append("\n**Closest passages found (not sufficient to answer)**")
        for c in a.citations[:2]:
            lines.append(f"\n*{escape(c.title)}* · `{c.doc_id}` · {where(c)}"
                         f"\n> {escape(c.quote[:300])}…")
    if a.dropped:
        lines.append("\n<details><summary>Removed by the citation check</summary>\n")
        for d in a.dropped:
            lines.append(f"- ~~{escape(d.sentence)}~~ — {escape(d.reason)}")
        lines.append("\n</details>")
    if a.timings:
        stages = " · ".join(f"{k} {v:.1f} s" for k, v in a.timings.items() if k != "total")
        lines.append(f"\n<sub>{stages} · total {a.timings.get('total', 0):.1f} s</sub>")
    return "\n".join(lines)


def render_found(found: rag.Retrieved, draft: str, checked: str = "") -> str:
    """While the answer is written and checked: the sentences that passed the check so far, the
    passages it is drawn from and, collapsed and labelled as such, the generator's unchecked
    draft. Only checked sentences stand as the answer."""
    head = (f"{escape(checked)} ▌\n\n*Checking the rest against the passages*" if checked
            else "*Writing the answer and checking it against the passages* ▌")
    if draft:
        head += ("\n\n<details><summary>Unchecked draft (not the answer: its sentences are being checked)</summary>"
                 f"\n\n{html.escape(draft, quote=False)}\n\n</details>")
    titles = "\n".join(f"- {escape(h.title)} · `{h.chunk.doc_id}`" for h in found.passages)
    return f"{head}\n\n**Reading {len(found.passages)} passages**\n{titles}"


def chat(message: str, history: list):
    """Stream the answer, then show the checked one with its sources."""
    shown, checked, found, drawn = "", "", None, 0.0
    if not READY.is_set():
        yield "*Loading the documents and models (only after the server starts, about 10 s)…*"
    try:
        for piece in rag.stream_answer(message, pairs(history)):
            if isinstance(piece, rag.Retrieved):
                found = piece
                if piece.answering:
                    yield render_found(piece, shown)
            elif isinstance(piece, rag.Verified):  # a sentence that passed the check: shown at once
                checked += piece.text
                if found and found.answering:
                    drawn = time.monotonic()
                    yield render_found(found, shown, checked)
            elif isinstance(piece, str):
                shown += piece
                if time.monotonic() - drawn >= REDRAW_S:  # the rest shows at the next redraw or in the answer
                    drawn = time.monotonic()
                    yield render_found(found, shown, checked) if found else "*Writing the answer and checking it* ▌"
            else:
                yield render(piece)
    except rag.RagError as e:
        yield f"⚠️ {html.escape(str(e), quote=False)}"
    except Exception as e:  # keep serving; the details go to the server log
        log.exception("answer failed")
        yield f"⚠️ Something went wrong while answering ({type(e).__name__}). Please try again."


def catalogue() -> tuple[str, gr.Dropdown]:
    """The documents as a list (title, then id, passages and whose it is: readable in a narrow
    sidebar) and the choices of the remove menu (your documents only)."""
    docs = rag.documents()
    lines = [f"**{escape(title)}**  \n<sub>`{doc_id}` · {n} passage{'s' * (n != 1)} · "
             f"{'yours' if mine else 'seed'}</sub>\n" for doc_id, title, n, mine in docs]
    mine = [(f"{title} ({doc_id})", doc_id) for doc_id, title, _, yours in docs if yours]
    return "\n".join(lines) or "No documents yet.", gr.Dropdown(choices=mine, value=None)


def upload(paths: list[str] | None, progress=gr.Progress()):  # noqa: B008 - Gradio's way to ask for a bar
    """Index uploaded files, with a progress bar; report what was added and what was refused, and why."""
    lines = []

    def show(p: rag.Progress) -> None:
        if p.reading:  # a scanned PDF, page by page: the slow part
            progress(p.pages_done / max(p.pages_total, 1),
                     desc=f"Reading the scanned pages of {p.reading} (OCR): {p.pages_done}/{p.pages_total}")
            return
        progress(p.chunks_done / max(p.chunks_total, 1),
                 desc=f"Embedding: {p.chunks_done}/{p.chunks_total} passages, "
                      f"{p.documents_done}/{p.documents_total} documents")

    try:
        progress(0, desc="Reading the files…")
        added, skipped = rag.add_documents(paths or [], [os.path.basename(p) for p in paths or []], show)
        lines += [f"**Added** {escape(d.title)} (`{d.id}`)" for d in added]
        lines += [f"**Not added** {escape(os.path.basename(s.path))}: {escape(s.reason)}" for s in skipped]
    except Exception as e:  # keep serving
        log.exception("upload failed")
        lines.append(f"**The upload failed** ({type(e).__name__}); nothing was changed.")
    return ("\n\n".join(lines) or "Nothing to add."), *catalogue(), None


def remove(doc_id: str | None):
    if not doc_id:
        return "Choose one of your documents to remove.", *catalogue()
    done = rag.remove_document(doc_id)
    return (f"Removed `{doc_id}`." if done else f"`{doc_id}` is not one of your documents."), *catalogue()


def build() -> gr.Blocks:
    with gr.Blocks(title="Ask the documents", fill_height=True) as demo:
        with gr.Sidebar(position="right", open=False, label="Documents"):
            gr.Markdown("### Documents\nThe seed corpus, plus yours: `.txt`, `.md`, `.html` or `.pdf`, "
                        f"up to {MAX_UPLOAD_MB} MB each. Only new text is embedded.")
            files = gr.File(label="Add documents", file_count="multiple", type="filepath",
                            file_types=[".txt", ".md", ".html", ".htm", ".pdf"], elem_id="upload")
            status = gr.Markdown(elem_id="upload-status")
            table = gr.Markdown(elem_id="documents")
            which = gr.Dropdown(label="Remove one of your documents", choices=[], elem_id="remove-choice")
            drop = gr.Button("Remove", variant="secondary", elem_id="remove")
        gr.Markdown('# Globalization vs localization<span class="wide">: ask the documents</span>', elem_id="title")
        gr.Markdown("Answers come only from the documents, with each sentence tied to the passage it came from. "
                    "When the documents do not hold the answer, it says so.", elem_id="intro")
        gr.ChatInterface(
            chat,
            chatbot=gr.Chatbot(elem_id="conversation", show_label=False, scale=1),
            api_name="chat",
            examples=EXAMPLES,
            cache_examples=False,
            concurrency_limit=rag.Config.from_env().max_batch,  # answers written together (rag/models/batching.py)
        )
        files.upload(upload, files, [status, table, which, files], api_name="upload", concurrency_limit=1,
                     show_progress_on=[table])  # the bar over the list that is being updated
        drop.click(remove, which, [status, table, which], api_name="remove", concurrency_limit=1)
        demo.load(catalogue, None, [table, which], api_name=False)
    return demo


def warm_up() -> None:
    """Load the index and models in the background, so the first answer is quick."""
    def run():
        try:
            rag.answer("What is localization?")
        except Exception:
            log.exception("warm-up failed")
        finally:
            READY.set()

    threading.Thread(target=run, daemon=True).start()
