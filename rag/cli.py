"""Command line: `python -m rag index [FOLDER] [--ray [ADDRESS]]` (with FOLDER: add its
.txt/.md/.html/.pdf/.docx files to your documents, stored under data/uploads/; with --ray: do the
reading, chunking and embedding on a Ray cluster), `python -m rag ask "QUESTION" [--json]`,
`python -m rag mcp` (the MCP server over stdio, rag/mcp.py) and `python -m rag eval retrieval|qa`.

Errors the user can act on (empty question, missing folder, broken index) print one
line and exit with status 2; nothing prints a stack trace for them.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from .errors import RagError
from .types import Answer


def _pipeline(folder: str | None = None):
    from .config import Config
    from .pipeline import Pipeline

    config = Config.from_env()
    config = config.with_(docs_dir=Path(folder).resolve()) if folder else config
    return Pipeline(config, log=lambda msg: print(msg, file=sys.stderr))


def cmd_index(args) -> None:
    from .storage.build import terminal_bar

    p = _pipeline()
    if args.folder and not Path(args.folder).is_dir():
        raise RagError(f"no such folder: {args.folder}")
    workers = None
    if args.ray is not None:  # read, chunk and embed on a Ray cluster (rag/storage/ray_workers.py)
        from .storage import ray_workers as distributed

        workers = distributed.RayWorkers(p.config, args.ray or None, dim=p.embedder.dim)
    try:
        if args.folder:  # add the folder's files to your documents (data/uploads/), then index
            files = sorted(f for f in Path(args.folder).iterdir() if f.is_file())
            added, skipped = p.add(files, progress=terminal_bar(), workers=workers)
            for d in added:
                print(f"added {d.id}: {d.title}", file=sys.stderr)
            for s in skipped:
                print(f"skipped {s.path}: {s.reason}", file=sys.stderr)
        index = p.load_index(terminal_bar(), workers)  # reads the folders, reports skipped files, builds as needed
    finally:
        if workers is not None:
            distributed.stop()
    where = index.manifest.get("uri", p.config.index_dir)
    print(f"index ready: {index.count} chunks from {len(index.manifest['documents'])} documents in {where}")


def cmd_ask(args) -> None:
    p = _pipeline(args.folder)
    if args.json:
        a = p.answer(args.question)
        print(json.dumps(asdict(a), ensure_ascii=False, indent=1, default=str))
        return
    final = None
    for piece in p.stream(args.question):
        if isinstance(piece, Answer):  # the checked text is printed once, below
            final = piece
    if any(st.quoted for st in final.statements):  # a quote is shown as one
        print("\n".join(f"“{st.text}” [{st.n}]" if st.quoted else f"{st.text} [{st.n}]" for st in final.statements))
        print("(quoted word for word from the documents)")
    else:
        print(final.text)
    if final.citations:
        print("\nSources:")
        for c in final.citations:
            quote = " ".join(c.quote.split())
            page = f"p. {c.page}, " if c.page else ""
            print(f"[{c.n}] {c.title} ({c.doc_id}, {page}chars {c.start}-{c.end}, score {c.score:.2f})")
            print(f"    \"{quote[:300]}{'…' if len(quote) > 300 else ''}\"")
    print("\n" + "  ".join(f"{k} {v:.2f}s" for k, v in final.timings.items()), file=sys.stderr)


def cmd_mcp(args) -> None:
    from .mcp import main as serve

    serve()


def cmd_eval(args) -> None:
    from .evaluation import run as evaluate

    log = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    if args.what == "qa":
        from .config import Config

        config = Config.from_env()
        config = config if args.min_confidence is None else config.with_(min_confidence=args.min_confidence)
        result = evaluate.eval_qa(Path(args.data), args.limit, config, log=log)
        if args.rows:
            Path(args.rows).write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in result["rows"]) + "\n")
        result.pop("rows")
        print(json.dumps(result) if args.json else evaluate.qa_table(result))
        return
    result = evaluate.eval_retrieval(Path(args.data), args.split, alpha=args.alpha, fusion=args.fusion, log=log)
    print(json.dumps(result) if args.json else evaluate.table(result))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rag", description="Local Q&A over documents, with citations.")
    sub = parser.add_subparsers(dest="command", required=True)
    ix = sub.add_parser("index", help="build or update the index; with FOLDER, add its files to your documents")
    ix.add_argument("folder", nargs="?")
    ix.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                    help="read, chunk and embed on a Ray cluster (default: a local one, loopback only)")
    ix.set_defaults(func=cmd_index)
    ask = sub.add_parser("ask", help="answer a question from the documents")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the Answer as JSON")
    ask.add_argument("--folder", help="documents folder (default: seeds/)")
    ask.set_defaults(func=cmd_ask)
    mc = sub.add_parser("mcp", help="serve the documents as MCP tools over stdio (for Claude Desktop, Cursor, ...)")
    mc.set_defaults(func=cmd_mcp)
    ev = sub.add_parser("eval", help="measure quality on a benchmark")
    ev_sub = ev.add_subparsers(dest="what", required=True)
    evr = ev_sub.add_parser("retrieval", help="nDCG@10, recall, MRR on BEIR-format data")
    evr.add_argument("--data", required=True, help="folder with corpus.jsonl, queries*.jsonl, qrels*.tsv")
    evr.add_argument("--split", default="test", help="test (queries.jsonl) or train (queries_train.jsonl)")
    evr.add_argument("--json", action="store_true")
    evr.add_argument("--alpha", type=float, default=None, help="dense weight in score fusion (default: tuned)")
    evr.add_argument("--fusion", choices=["zscore", "rrf"], default="zscore")
    evr.set_defaults(func=cmd_eval)
    evq = ev_sub.add_parser("qa", help="answer recall, F1, abstention and citation precision (SQuAD 2.0 format)")
    evq.add_argument("--data", required=True, help="folder with corpus.jsonl and answers.jsonl")
    evq.add_argument("--limit", type=int, default=None, help="only the first N questions")
    evq.add_argument("--json", action="store_true")
    evq.add_argument("--rows", help="also write each question's outcome to this JSONL file")
    evq.add_argument("--min-confidence", type=float, help="abstention threshold (default: Config's)")
    evq.set_defaults(func=cmd_eval)
    args = parser.parse_args(argv)
    if getattr(args, "alpha", 0) is None:
        from .storage.retrieve import ALPHA

        args.alpha = ALPHA
    try:
        args.func(args)
    except (RagError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
