"""The documents as tools for an MCP client (Claude Desktop, Cursor, VS Code, Goose, ...).

    answer_question(question, history?)   the checked answer, its citations, refused or not
    search_documents(query, k?)           the passages retrieval finds, best first
    list_documents()                      every indexed document: id, title, passages, seed or yours

All three are read-only. Built on the reference SDK (`mcp` 2.x, `MCPServer`); `server(get)`
takes the function that returns the Pipeline, so the stdio server (`python -m rag mcp`, logs
on stderr) and the streamable HTTP endpoint at /mcp of the chat's server (ui/server.py: same
process, same models, its key and bounds) answer from the same code. Arguments are bounded
by their schema (lengths, counts), so an oversized call is refused before any work is done.
Leaves out: resources, prompts, and tools that change the documents.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from .errors import RagError
from .pipeline import Pipeline
from .types import Answer

MAX_TEXT = 10_000  # characters of a question, a query or one turn of history
MAX_TURNS = 20  # turns of history read
MAX_K = 20  # passages a search returns

INSTRUCTIONS = ("Answers questions from the user's local documents, each sentence tied to the passage it "
                "comes from and checked against it. Prefer answer_question; it refuses when the documents "
                "do not hold the answer, and its citations give the passage, offsets and PDF page.")


class Cited(BaseModel):
    n: int = Field(description="the marker number: [n] in the answer")
    doc_id: str
    title: str
    quote: str = Field(description="the cited passage, verbatim")
    start: int = Field(description="character offset of the passage in the document's text")
    end: int
    page: int | None = Field(description="PDF page (1-based) of the cited sentence; null for other formats")
    supported: bool = Field(description="true: the check found the answer's sentence in this passage; false: "
                            "a closest passage shown beside a refusal")


class Answered(BaseModel):
    answer: str = Field(description="the checked answer with [n] markers, or the refusal")
    citations: list[Cited]
    refused: bool = Field(description="true when the documents do not hold the answer")
    confidence: float = Field(description="calibrated chance (0-1) that the passages found hold the answer")


class Passage(BaseModel):
    doc_id: str
    title: str
    text: str
    start: int
    end: int
    page: int | None
    score: float = Field(description="fused retrieval score: higher is better")


class Listed(BaseModel):
    id: str
    title: str
    passages: int
    source: Literal["seed", "yours"]


class Turn(BaseModel):
    question: Annotated[str, Field(max_length=MAX_TEXT)]
    answer: Annotated[str, Field(max_length=MAX_TEXT)]


def answered(a: Answer) -> Answered:
    return Answered(answer=a.text, citations=[Cited.model_validate(c, from_attributes=True) for c in a.citations],
                    refused=a.abstained, confidence=round(a.confidence, 4))


def server(get: Callable[[], Pipeline]):
    """The MCPServer whose tools answer from `get()`."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp_types import ToolAnnotations

    app = MCPServer("rag", title="Ask the documents", instructions=INSTRUCTIONS, version="0.1.0",
                    log_level="WARNING")
    read_only = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                                open_world_hint=False)

    def run(work):
        try:
            return work(get())
        except RagError as e:  # a question the product cannot take: said plainly, nothing else is lost
            raise ToolError(str(e)) from None

    @app.tool(annotations=read_only, title="Answer a question from the documents")
    def answer_question(question: Annotated[str, Field(min_length=1, max_length=MAX_TEXT,
                                                       description="the question, in plain words")],
                        history: Annotated[list[Turn], Field(max_length=MAX_TURNS, description=(
                            "the conversation so far, oldest first, to read follow-ups like 'and why?'"))] = (),
                        ) -> Answered:
        """Answer from the user's documents: a short answer whose every sentence cites the passage it
        comes from ([n] markers), checked against that passage, or a refusal when the documents do
        not say. Citations give the document, the quoted passage, its offsets and the PDF page."""
        return run(lambda p: answered(p.answer(question, [(t.question, t.answer) for t in history])))

    @app.tool(annotations=read_only, title="Search the documents")
    def search_documents(query: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)],
                         k: Annotated[int, Field(ge=1, le=MAX_K, description="how many passages")] = 5,
                         ) -> list[Passage]:
        """The passages of the user's documents that best match `query` (hybrid dense + BM25
        retrieval), best first, with their document, offsets and PDF page. No answer is written."""
        def search(p: Pipeline) -> list[Passage]:
            return [Passage(doc_id=h.chunk.doc_id, title=h.title, text=h.chunk.text, start=h.chunk.start,
                            end=h.chunk.end, page=p.page(h.chunk.doc_id, h.chunk.start), score=round(h.score, 4))
                    for h in p.retrieve(query, k=k)]
        return run(search)

    @app.tool(annotations=read_only, title="List the documents")
    def list_documents() -> list[Listed]:
        """Every indexed document: its id, title, how many passages it has, and whether it is one of
        the built-in seed documents or one the user added."""
        return run(lambda p: [Listed(id=i, title=t, passages=n, source="yours" if mine else "seed")
                              for i, t, n, mine in p.catalogue()])

    return app


def main() -> int:
    """`python -m rag mcp`: serve the tools over stdio until the client closes them."""
    import sys
    import threading

    from .config import Config

    config = Config.from_env()  # a bad setting fails here, before the client is answered
    pipeline = Pipeline(config, log=lambda msg: print(msg, file=sys.stderr))
    # the index and the models load while the client starts up, not on its first call (which waits for them)
    threading.Thread(target=pipeline.warm, daemon=True, name="warm").start()
    server(lambda: pipeline).run("stdio")
    return 0
