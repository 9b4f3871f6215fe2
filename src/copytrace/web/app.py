"""The FastAPI app: pages to search and browse an index, and a JSON API beside them."""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import FastAPI, File, Form, HTTPException, Query, UploadFile
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import CopytraceError, InputError
from ..index import Index, mirror
from ..read import decode
from ..types import Document, Pair
from . import html as H

DEFAULT_MAX_BODY = 2_000_000


class BodyLimit:
    """ASGI middleware: a request body over ``max_body`` bytes gets 413 before the app reads it."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers", []):
            if key == b"content-length" and value.isdigit() and int(value) > self.max_body:
                await self._reject(send)
                return
        seen = 0
        rejected = False

        async def limited() -> Message:
            # a body without Content-Length (chunked) is counted as it is read
            nonlocal seen, rejected
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    if not rejected:
                        rejected = True
                        await self._reject(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not rejected:  # after a 413 the app's own answer is dropped
                await send(message)

        try:
            await self.app(scope, limited, guarded_send)
        except Exception:
            if not rejected:
                raise

    async def _reject(self, send: Send) -> None:
        body = f"request body over {self.max_body} bytes".encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class QueryRequest(BaseModel):
    text: str = Field(description="the article text to look up")
    limit: int = Field(20, ge=1, le=200, description="most matches returned")


def create_app(index_path: str | os.PathLike[str], *, max_body: int = DEFAULT_MAX_BODY) -> FastAPI:
    """The ASGI app serving the index at ``index_path`` (opened read-only once, shared by all requests)."""
    ix = Index(index_path, read_only=True)
    app = FastAPI(
        title="copytrace",
        description="Where else did this text appear? Matches with relation, passages (character offsets) and edits.",
        version="1",
    )
    app.state.index = ix
    css = H.stylesheet()

    def html_page(title: str, body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(H.page(title, body), status_code=status)

    def other_side(doc_id: str, pair: Pair) -> tuple[Document, Pair] | None:
        p = pair if pair.a == doc_id else mirror(pair)
        other = ix.get(p.b)
        return (other, p) if other is not None else None

    # ---------------------------------------------------------------- pages

    @app.get("/static/style.css", include_in_schema=False)
    def style() -> PlainTextResponse:
        return PlainTextResponse(css, media_type="text/css")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home() -> HTMLResponse:
        return html_page("search", H.search_form(counts=ix.count()) + H.overview(ix.overview()))

    @app.post("/query", response_class=HTMLResponse, include_in_schema=False)
    def query_page(
        text: Annotated[str, Form()] = "", file: Annotated[UploadFile | None, File()] = None
    ) -> HTMLResponse:
        warnings: list[str] = []
        name = "pasted text"
        if file is not None and file.filename:
            data = file.file.read()
            try:
                text = decode(data, file.filename, warnings.append)
            except InputError as exc:
                return html_page("search", H.search_form() + f"<p class=error>{H.esc(exc)}</p>", 400)
            name = file.filename
        if not text.strip():
            return html_page(
                "search", H.search_form(counts=ix.count()) + "<p class=error>Paste some text first.</p>"
            )
        query = Document(name, text)
        found = [(m.doc, m.pair) for m in ix.query(query)]
        return html_page("matches", H.results(query, found, warnings, ix.reprint_spans(found)))

    @app.get("/documents", response_class=HTMLResponse, include_in_schema=False)
    def documents_page(offset: int = Query(0, ge=0), prefix: str | None = None) -> HTMLResponse:
        rows = ix.documents(offset, 50, prefix or None)
        return html_page("documents", H.documents_list(rows, offset, 50, prefix))

    @app.get("/documents/{doc_id:path}", response_class=HTMLResponse, include_in_schema=False)
    def document_page(doc_id: str) -> HTMLResponse:
        doc = ix.get(doc_id)
        if doc is None:
            return html_page("not found", H.error_page(f"no document with id {doc_id!r}"), 404)
        stored = ix.pairs(doc_id=doc_id, limit=1_000_000)
        pairs = [x for p in stored[:500] if (x := other_side(doc_id, p)) is not None]
        own = ix.derivation_of(doc_id)
        return html_page(doc.id, H.document_page(doc, pairs, ix.family_of(doc_id), own))

    @app.get("/pairs", response_class=HTMLResponse, include_in_schema=False)
    def pairs_page(
        offset: int = Query(0, ge=0),
        relation: str | None = None,
        cont: int | None = Query(None, ge=0, le=9),
        when: str | None = None,
        flow_from: str | None = None,
        flow_to: str | None = None,
        cluster: str | None = None,
    ) -> HTMLResponse:
        # the overview's bars and cells lead here with one of its filters
        chosen = {"cont": cont, "when": when or None, "flow_from": flow_from, "flow_to": flow_to}
        chosen["cluster"] = cluster or None
        if any(v is not None for v in chosen.values()):
            flow = (flow_from, flow_to) if flow_from is not None and flow_to is not None else None
            pairs = ix.pairs_where(
                relation=relation or None,
                cont=cont,
                when=when or None,
                flow=flow,
                cluster=cluster or None,
                offset=offset,
                limit=50,
            )
        else:
            pairs = ix.pairs(relation=relation or None, offset=offset, limit=50)
        return html_page("pairs", H.pairs_list(pairs, offset, 50, relation, ix.relation_counts(), chosen))

    @app.get("/passages", response_class=HTMLResponse, include_in_schema=False)
    def passages_page(offset: int = Query(0, ge=0)) -> HTMLResponse:
        records = ix.top_reprints(50, offset)
        return html_page("reprints", H.passages_list(records, offset, 50, len(ix.reprints().clusters)))

    @app.get("/passages/{cid}", response_class=HTMLResponse, include_in_schema=False)
    def passage_page(cid: str) -> HTMLResponse:
        rec = ix.reprint(cid)
        if rec is None:
            return html_page("not found", H.error_page(f"no reprint cluster {cid!r}"), 404)
        return html_page(cid, H.passage_page(rec))

    @app.get("/pair", response_class=HTMLResponse, include_in_schema=False)
    def pair_page(a: str, b: str) -> HTMLResponse:
        pair = ix.pair(a, b)
        da, db = ix.get(a), ix.get(b)
        if pair is None or da is None or db is None:
            return html_page("not found", H.error_page(f"no stored pair of {a!r} and {b!r}"), 404)
        if pair.a != a:
            pair = mirror(pair)
        return html_page(f"{a} ⇄ {b}", H.legend() + H.pair_card(pair, da, db))

    @app.get("/families", response_class=HTMLResponse, include_in_schema=False)
    def families_page(offset: int = Query(0, ge=0)) -> HTMLResponse:
        return html_page("families", H.families_list(ix.families(), offset, 50))

    @app.get("/families/{fid}", response_class=HTMLResponse, include_in_schema=False)
    def family_page(fid: str) -> HTMLResponse:
        for fam in ix.families():
            if fam.id == fid:
                tree, lines = ix.family_genealogy(fam)
                return html_page(fam.id, H.family_page(fam, tree, lines))
        return html_page("not found", H.error_page(f"no family {fid!r}"), 404)

    # ---------------------------------------------------------------- JSON API

    @app.post("/api/query", summary="Stored documents sharing a passage with a text")
    def api_query(req: QueryRequest) -> dict[str, Any]:
        """The text is ``a`` in every pair; offsets index the text as sent. ``spans``: each span of the
        text shared with stored documents, its reprint cluster and how many stored documents carry it."""
        matches = ix.query(Document("query", req.text), limit=req.limit)
        spans = ix.reprint_spans([(m.doc, m.pair) for m in matches])
        return {"matches": [m.to_dict() for m in matches], "spans": spans}

    @app.get("/api/overview", summary="The overview's numbers of every stored pair")
    def api_overview() -> dict[str, Any]:
        """Relations by count, the containment histogram, pairs by the time bin of the later date,
        who copies whom by source, and the top reprint clusters (as the home page draws them)."""
        return ix.overview()

    @app.get("/api/passages/{cid}", summary="A reprint cluster: one passage and every place it was reprinted")
    def api_passage(cid: str) -> dict[str, Any]:
        rec = ix.reprint(cid)
        if rec is None:
            raise HTTPException(404, f"no reprint cluster {cid!r}")
        return rec

    @app.get("/api/documents/{doc_id:path}", summary="A stored document with its text, derivation and pairs")
    def api_document(doc_id: str) -> dict[str, Any]:
        """``derivation``: the document's own derivation from its stored pairs whose direction names
        its source, as a scan's documents.jsonl gives it (verbatim, rewritten, new, level, sources)."""
        doc = ix.get(doc_id)
        if doc is None:
            raise HTTPException(404, f"no document with id {doc_id!r}")
        fam = ix.family_of(doc_id)
        stored = ix.pairs(doc_id=doc_id, limit=1_000_000)
        return {
            **doc.to_dict(),
            "text": doc.text,
            "cluster": fam.id if fam else None,
            "derivation": ix.derivation_of(doc_id),
            "pairs": [p.to_dict() for p in stored[:10_000]],
        }

    @app.get("/api/pairs", summary="Stored pairs, most shared words first")
    def api_pairs(
        doc: str | None = Query(None, description="only pairs of this document id"),
        relation: str | None = Query(None, description="only this relation"),
        limit: int = Query(50, ge=1, le=1000),
        offset: int = Query(0, ge=0),
    ) -> dict[str, Any]:
        pairs = ix.pairs(doc_id=doc, relation=relation, offset=offset, limit=limit)
        return {"pairs": [p.to_dict() for p in pairs], "offset": offset, "limit": limit}

    @app.get("/api/families", summary="Families of documents linked by shared passages")
    def api_families() -> dict[str, Any]:
        return {"families": [f.to_dict() for f in ix.families()]}

    @app.exception_handler(CopytraceError)
    def copytrace_error(_request: Any, exc: CopytraceError) -> PlainTextResponse:
        return PlainTextResponse(str(exc), status_code=400)

    app.add_middleware(BodyLimit, max_body=max_body)
    return app
