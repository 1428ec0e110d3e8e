"""Documents in: files read into `Document`s, cut into `Chunk`s, the user's own folder.

    read.py      .txt, .md, .html, .pdf -> Document (checked by content; failures skipped with a reason)
    chunk.py     Document -> overlapping token windows on sentence boundaries (tiktoken)
    library.py   the user's documents under data/uploads/: add, remove, list

Nothing here embeds or indexes: that is rag/storage/.
"""
