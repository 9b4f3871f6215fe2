"""HTML for the web pages. Every value from a document, a query or a URL goes through ``esc``
(``html.escape`` with quotes); markup is only ever built from constants and escaped values."""

from __future__ import annotations

import html
from importlib import resources
from typing import Any
from urllib.parse import quote, urlencode

from ..genealogy import Genealogy, changes_text, layout
from ..types import Document, Family, Pair, Passage
from ..view import LEVELS, Fragment, Span, derivation_of, derivation_rows

EDIT_KINDS = ("spelling", "number", "name", "rewording", "insert", "delete", "quote", "punctuation", "moved")


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def url(path: str, **params: Any) -> str:
    """A URL with escaped query parameters (returned HTML-escaped, ready for an attribute)."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return esc(path + ("?" + query if query else ""))


def doc_url(doc_id: str) -> str:
    return esc("/documents/" + quote(doc_id, safe=""))


def stylesheet() -> str:
    from ..overview import STYLE

    return resources.files("copytrace.web").joinpath("static/style.css").read_text(encoding="utf-8") + STYLE


def page(title: str, body: str) -> str:
    """The page layout; ``body`` is HTML built by the functions below."""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} · copytrace</title><link rel=stylesheet href=/static/style.css></head><body>"
        "<header><a class=brand href=/>copytrace</a><a href=/>search</a><a href=/documents>documents</a>"
        "<a href=/pairs>pairs</a><a href=/families>families</a><a href=/passages>reprints</a><a href=/docs>API</a></header>"
        f"<main>{body}</main></body></html>"
    )


def marked(text: str, passage: Passage, side: str) -> str:
    """The passage's text on one side, escaped, with its edits wrapped in ``<mark>``."""
    start = passage.a_start if side == "a" else passage.b_start
    end = passage.a_end if side == "a" else passage.b_end
    spans = []
    for e in passage.edits:
        lo = e.a_start if side == "a" else e.b_start
        hi = e.a_end if side == "a" else e.b_end
        if start <= lo < hi <= end:
            other = e.b if side == "a" else e.a
            spans.append((lo, hi, e.kind, other))
    spans.sort()
    out, pos = [], start
    for lo, hi, kind, other in spans:
        if lo < pos:
            continue  # overlapping edits: keep the first
        out.append(esc(text[pos:lo]))
        kind_class = kind if kind in EDIT_KINDS else "other"
        out.append(
            f'<mark class="edit k-{kind_class}" title="{esc(kind)}: other side {esc(repr(other))}">'
            f"{esc(text[lo:hi])}</mark>"
        )
        pos = hi
    out.append(esc(text[pos:end]))
    return "".join(out)


def sentence(text: str, span: Span | None, fragments: tuple[Fragment, ...], side: str) -> str:
    """One sentence, escaped, its verbatim fragments wrapped in ``<mark class=frag>``."""
    if span is None:
        return ""
    start, end = span
    marks = sorted(
        (max(lo, start), min(hi, end))
        for lo, hi in ((f[0], f[1]) if side == "a" else (f[2], f[3]) for f in fragments)
        if min(hi, end) > max(lo, start)
    )
    out, pos = [], start
    for lo, hi in marks:
        if lo < pos:
            continue  # overlapping fragments: keep the first
        out.append(esc(text[pos:lo]))
        out.append(f"<mark class=frag title='verbatim fragment'>{esc(text[lo:hi])}</mark>")
        pos = hi
    out.append(esc(text[pos:end]))
    return "".join(out)


def shares(values: Any) -> str:
    return ", ".join(f"{k} <b>{float(values.get(k, 0.0)):.0%}</b>" for k in ("verbatim", "rewritten", "new"))


def derivation_section(pair: Pair, a: Document, b: Document, *, open_: bool = True) -> str:
    """The pair's derivation: each side's shares and level, then its sentences side by side in
    ``a``'s order (``view.sentence_rows``), verbatim fragments marked, new sentences in rows of
    their own. Empty when the pair has no derivation."""
    derivation = derivation_of(pair)
    if derivation is None:
        return ""
    rows = derivation_rows(derivation, a.text, b.text)
    summary = []
    for side, doc, other in (("a", a, b), ("b", b, a)):
        x = derivation.get(side, {})
        level = str(x.get("level", ""))
        summary.append(
            f"<span class=derived>{esc(doc.id)}: <b class='lvl {esc(level)}'>{esc(LEVELS.get(level, level))}</b> "
            f"{esc(other.id)} ({shares(x)})</span>"
        )
    body = [
        f"<details class=derivation{' open' if open_ else ''}><summary>derivation{''.join(summary)}</summary>",
        f"<table class=sentences><tr><th class=sa>a · {esc(a.id)}</th><th class=sk>made</th>"
        f"<th class=sb>b · {esc(b.id)}</th></tr>",
    ]
    for r in rows:
        made = esc(r.kind.replace("_", " "))
        if r.similarity is not None:
            made += f"<br><span class=muted>{r.similarity:.2f}</span>"
        a_at = f" title='[{r.a[0]}:{r.a[1]}]'" if r.a else ""
        b_at = f" title='[{r.b[0]}:{r.b[1]}]'" if r.b else ""
        body.append(
            f"<tr class='srow k-{esc(r.kind)}'><td class=sa{a_at}>{sentence(a.text, r.a, r.fragments, 'a')}</td>"
            f"<td class=sk>{made}</td><td class=sb{b_at}>{sentence(b.text, r.b, r.fragments, 'b')}</td></tr>"
        )
    body.append("</table></details>")
    return "".join(body)


def derived_levels(pair: Pair) -> str:
    """``level a / level b`` of the pair's derivation (shares in the tooltip); empty without one."""
    derivation = derivation_of(pair)
    if derivation is None:
        return ""
    cells = []
    for side in ("a", "b"):
        x = derivation.get(side, {})
        tip = ", ".join(f"{k} {float(x.get(k, 0.0)):.0%}" for k in ("verbatim", "rewritten", "new"))
        cells.append(
            f"<span class='lvl {esc(x.get('level', ''))}' title='{side}: {esc(tip)}'>{esc(x.get('level', ''))}</span>"
        )
    return " / ".join(cells)


def legend() -> str:
    return (
        "<p class=legend>edits: "
        + "".join(f'<mark class="edit k-{k}">{k}</mark>' for k in EDIT_KINDS)
        + "</p>"
    )


def relation_badge(relation: str) -> str:
    return f'<span class="rel {esc(relation)}">{esc(relation)}</span>'


def pair_card(
    pair: Pair,
    a: Document,
    b: Document,
    *,
    a_link: bool = True,
    b_link: bool = True,
    open_derivation: bool = True,
) -> str:
    """One pair: facts, then every passage side by side with its edits highlighted, then its
    sentences side by side (``derivation_section``, folded unless ``open_derivation``)."""

    def name(d: Document, link: bool) -> str:
        label = esc(d.title or d.id)
        return f'<a href="{doc_url(d.id)}">{label}</a>' if link else f"<b>{label}</b>"

    words = sum(p.words for p in pair.passages)
    parts = [
        f"<section class=card data-doc='{esc(b.id)}'><h2>{name(a, a_link)} ⇄ {name(b, b_link)}</h2>",
        "<div class=facts>",
        f"<span>relation {relation_badge(pair.relation)}</span>",
        f"<span>direction <b>{esc(pair.direction)}</b> <span class=muted>({esc(pair.direction_reason)})</span></span>",
        f"<span>containment <b>{pair.containment_a:.0%}</b> of {esc(a.id)}, <b>{pair.containment_b:.0%}</b> of "
        f"{esc(b.id)}</span>",
        f"<span><b>{len(pair.passages)}</b> passage(s), <b>{words}</b> shared words, similarity "
        f"<b>{pair.similarity:.2f}</b></span>",
        "</div>",
    ]
    changed = [("numbers changed", pair.numbers_changed), ("names changed", pair.names_changed)]
    for label, items in changed:
        if items:
            text = ", ".join(f"{esc(d.get('a'))} → {esc(d.get('b'))}" for d in items)
            parts.append(f"<p class=flags><b>{label}:</b> {text}</p>")
    for k, p in enumerate(pair.passages, 1):
        parts.append(
            f"<div class=passage data-passage={k}>"
            f"<div class='side a'><h4>passage {k} · {esc(a.id)} [{p.a_start}:{p.a_end}]</h4>{marked(a.text, p, 'a')}</div>"
            f"<div class='side b'><h4>{p.words} words, similarity {p.similarity:.2f} · {esc(b.id)} "
            f"[{p.b_start}:{p.b_end}]</h4>{marked(b.text, p, 'b')}</div></div>"
        )
        if p.edits:
            edit_items = "".join(
                f'<li><mark class="edit k-{esc(e.kind)}">{esc(e.kind)}</mark> {esc(repr(e.a))} → {esc(repr(e.b))}</li>'
                for e in p.edits
            )
            parts.append(f"<details><summary>{len(p.edits)} edit(s)</summary><ul>{edit_items}</ul></details>")
    parts.append(derivation_section(pair, a, b, open_=open_derivation))
    parts.append("</section>")
    return "".join(parts)


def search_form(text: str = "", counts: dict[str, int] | None = None) -> str:
    info = ""
    if counts is not None:
        info = (
            f"<p class=muted>The index holds {counts['documents']:,} documents and {counts['pairs']:,} pairs. "
            "Paste an article or upload a text file to see where its text already appeared.</p>"
        )
    return (
        f"<h1>Where else did this text appear?</h1>{info}"
        "<form method=post action=/query enctype=multipart/form-data>"
        f"<textarea name=text id=text placeholder='Paste an article here'>{esc(text)}</textarea>"
        "<div class=row><label>or upload a file <input type=file name=file id=file></label>"
        "<button type=submit id=search>Find matches</button></div></form>"
    )


def overview_link(kind: str, value: Any) -> str | None:
    """Where a bar or cell of the overview leads: the pairs (or the reprint cluster) it counts."""
    if kind == "relation":
        return "/pairs?" + urlencode({"relation": value})
    if kind == "cont":
        return "/pairs?" + urlencode({"cont": value})
    if kind == "when":
        return "/pairs?" + urlencode({"when": value})
    if kind == "flow":
        return "/pairs?" + urlencode({"flow_from": value[0], "flow_to": value[1]})
    if kind == "cluster":
        return "/passages/" + quote(str(value), safe="")
    return None


def overview(facts: dict[str, Any]) -> str:
    """The overview's charts (``overview.svg``), each bar or cell a link to what it counts."""
    from ..overview import svg

    return "<h2>Overview</h2><p class=muted>Click a bar or a cell to list its pairs.</p>" + svg(
        facts, overview_link
    )


def spans_section(text: str, spans: list[dict[str, Any]]) -> str:
    """Each span of a query: its reprint cluster (linked) and how many stored documents carry it."""
    if not spans:
        return ""
    from ..passages import snippet

    rows = []
    for sp in spans:
        c = sp["cluster"]
        cell = f'<a href="/passages/{esc(quote(c))}">{esc(c)}</a>' if c else "<span class=muted>none</span>"
        rows.append(
            f"<tr class=span-row><td>[{sp['start']}:{sp['end']}]</td><td class=span-cluster>{cell}</td>"
            f"<td class='num span-docs'>{sp['documents']}</td><td>{esc(snippet(text[sp['start'] : sp['end']], 120))}</td></tr>"
        )
    return (
        "<h2 id=spans>Reprinted passages of this text</h2><table class=list id=span-table><tr><th>span</th>"
        "<th>reprint cluster</th><th>documents carrying it</th><th>text</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def passages_list(records: list[dict[str, Any]], offset: int, limit: int, total: int) -> str:
    body = [
        f"<h1>Reprint clusters ({total:,})</h1><p class=muted>Passages reprinted in the most documents first.</p>",
        "<table class=list><tr><th>cluster</th><th>documents</th><th>passages</th><th>passage</th><th>earliest</th></tr>",
    ]
    for r in records:
        e = r.get("earliest")
        body.append(
            f'<tr><td><a href="/passages/{esc(quote(r["cluster"]))}">{esc(r["cluster"])}</a></td>'
            f"<td>{r['size']['documents']}</td><td>{r['size']['passages']}</td><td>{esc(r['snippet'])}</td>"
            f"<td>{esc(e['id'] if e else '')} <span class=muted>{esc(r['earliest_reason'])}</span></td></tr>"
        )
    body.append("</table>")
    body.append(pager("/passages", offset, limit, len(records)))
    return "".join(body)


def passage_page(rec: dict[str, Any]) -> str:
    e = rec.get("earliest")
    members = "".join(
        f'<tr><td><a href="{doc_url(m["id"])}">{esc(m["id"])}</a></td><td>[{m["start"]}:{m["end"]}]</td>'
        f"<td>{esc(m.get('date', ''))}</td><td>{esc(m.get('source', ''))}</td></tr>"
        for m in rec["members"]
    )
    return (
        f"<h1>Reprint cluster {esc(rec['cluster'])}</h1><div class=facts>"
        f"<span><b>{rec['size']['documents']}</b> documents, <b>{rec['size']['passages']}</b> passages</span>"
        f"<span>earliest <b>{esc(e['id'] if e else 'unknown')}</b> ({esc(rec['earliest_reason'])})</span></div>"
        f"<blockquote class=snippet>{esc(rec['snippet'])}</blockquote>"
        f'<p><a href="{url("/pairs", cluster=rec["cluster"])}">pairs inside this cluster</a></p>'
        f"<table class=list><tr><th>document</th><th>span</th><th>date</th><th>source</th></tr>{members}</table>"
    )


def results(
    query: Document,
    matches: list[tuple[Document, Pair]],
    warnings: list[str],
    spans: list[dict[str, Any]] | None = None,
) -> str:
    parts = [search_form(query.text)]
    for w in warnings:
        parts.append(f"<p class=error>{esc(w)}</p>")
    if not matches:
        parts.append("<h2 id=summary>No stored document shares a passage with this text.</h2>")
    else:
        parts.append(f"<h2 id=summary>{len(matches)} stored document(s) share text with it</h2>")
        parts.append(spans_section(query.text, spans or []))
        parts.append(legend())
    for k, (doc, pair) in enumerate(matches):
        # the best match's sentences unfolded, the others' a click away
        parts.append(pair_card(pair, query, doc, a_link=False, open_derivation=k == 0))
    return "".join(parts)


def pager(path: str, offset: int, limit: int, shown: int, **params: Any) -> str:
    links = []
    if offset > 0:
        links.append(f'<a href="{url(path, offset=max(0, offset - limit), **params)}">← previous</a>')
    if shown == limit:
        links.append(f'<a href="{url(path, offset=offset + limit, **params)}">next →</a>')
    return "<div class=pager>" + "".join(links) + "</div>"


def documents_list(rows: list[dict[str, Any]], offset: int, limit: int, prefix: str | None) -> str:
    body = [
        "<h1>Documents</h1><form method=get action=/documents class=row>"
        f"<input name=prefix value='{esc(prefix or '')}' placeholder='id starts with'> <button>filter</button></form>",
        "<table class=list><tr><th>id</th><th>title</th><th>date</th><th>source</th><th>characters</th></tr>",
    ]
    for r in rows:
        body.append(
            f'<tr><td><a href="{doc_url(r["id"])}">{esc(r["id"])}</a></td><td>{esc(r.get("title", ""))}</td>'
            f"<td>{esc(r.get('date', ''))}</td><td>{esc(r.get('source', ''))}</td><td>{r['length']:,}</td></tr>"
        )
    body.append("</table>")
    body.append(pager("/documents", offset, limit, len(rows), prefix=prefix))
    return "".join(body)


def pairs_list(
    pairs: list[Pair],
    offset: int,
    limit: int,
    relation: str | None,
    counts: dict[str, int],
    chosen: dict[str, Any] | None = None,
) -> str:
    """The pairs list; ``chosen``: the overview's filters in force (name: value), shown and kept
    by the pager."""
    chosen = {k: v for k, v in (chosen or {}).items() if v is not None}
    filters = " ".join(
        f'<a href="{url("/pairs", relation=r)}">{esc(r)} ({n:,})</a>' for r, n in sorted(counts.items())
    )
    shown = "".join(f" · {esc(k)} {esc(v)}" for k, v in chosen.items())
    body = [
        f"<h1 id=pairs-title>Pairs{(' · ' + esc(relation)) if relation else ''}{shown}</h1><p>{filters} "
        f'<a href="/pairs">all</a></p>',
        "<table class=list><tr><th>a</th><th>b</th><th>relation</th><th>direction</th><th>shared words</th>"
        "<th>containment a / b</th><th>derived a / b</th><th></th></tr>",
    ]
    for p in pairs:
        words = sum(x.words for x in p.passages)
        body.append(
            f'<tr><td><a href="{doc_url(p.a)}">{esc(p.a)}</a></td><td><a href="{doc_url(p.b)}">{esc(p.b)}</a></td>'
            f"<td>{relation_badge(p.relation)}</td><td>{esc(p.direction)}</td><td>{words}</td>"
            f"<td>{p.containment_a:.0%} / {p.containment_b:.0%}</td><td>{derived_levels(p)}</td>"
            f'<td><a href="{url("/pair", a=p.a, b=p.b)}">side by side</a></td></tr>'
        )
    body.append("</table>")
    body.append(pager("/pairs", offset, limit, len(pairs), relation=relation, **chosen))
    return "".join(body)


def own_derivation(own: dict[str, Any]) -> str:
    """A document's own derivation (``index.own_derivation``): level, shares, each source linked."""
    if not own["sources"]:
        return f"<p class=derived-doc>derived from no stored document ({shares(own)})</p>"
    sources = ", ".join(
        f'<a href="{doc_url(x["id"])}">{esc(x["id"])}</a> <b>{float(x["share"]):.0%}</b>'
        for x in own["sources"]
    )
    level = str(own["level"])
    return f"<p class=derived-doc><b class='lvl {esc(level)}'>{esc(level)}</b> derived ({shares(own)}) from {sources}</p>"


def document_page(
    doc: Document,
    pairs: list[tuple[Document, Pair]],
    family: Family | None,
    own: dict[str, Any] | None = None,
) -> str:
    facts = "".join(
        f"<span>{k} <b>{esc(v)}</b></span>"
        for k, v in (("date", doc.date), ("source", doc.source), ("url", doc.url), ("path", doc.path))
        if v
    )
    fam = (
        f'<p>family <a href="/families/{esc(quote(family.id))}">{esc(family.id)}</a> ({len(family.members)} members)</p>'
        if family
        else "<p class=muted>in no family</p>"
    )
    body = [
        f"<h1>{esc(doc.title or doc.id)}</h1><div class=facts><span>id <b>{esc(doc.id)}</b></span>{facts}</div>"
    ]
    body.append(fam)
    if own is not None:
        body.append(own_derivation(own))
    body.append(f"<h2>{len(pairs)} pair(s)</h2>")
    if pairs:
        body.append(
            "<table class=list><tr><th>other document</th><th>relation</th><th>shared words</th><th></th></tr>"
        )
        for other, p in pairs:
            body.append(
                f'<tr><td><a href="{doc_url(other.id)}">{esc(other.id)}</a></td><td>{relation_badge(p.relation)}</td>'
                f"<td>{sum(x.words for x in p.passages)}</td>"
                f'<td><a href="{url("/pair", a=doc.id, b=other.id)}">side by side</a></td></tr>'
            )
        body.append("</table>")
    body.append(f"<h2>Text</h2><div class=doctext>{esc(doc.text)}</div>")
    return "".join(body)


def families_list(fams: list[Family], offset: int, limit: int) -> str:
    body = [
        f"<h1>Families ({len(fams):,})</h1><table class=list><tr><th>family</th><th>members</th>"
        "<th>representative</th><th>earliest</th></tr>"
    ]
    for f in fams[offset : offset + limit]:
        body.append(
            f'<tr><td><a href="/families/{esc(quote(f.id))}">{esc(f.id)}</a></td><td>{len(f.members)}</td>'
            f'<td><a href="{doc_url(f.representative)}">{esc(f.representative)}</a></td>'
            f"<td>{esc(f.earliest or '')} <span class=muted>{esc(f.earliest_reason)}</span></td></tr>"
        )
    body.append("</table>")
    body.append(pager("/families", offset, limit, len(fams[offset : offset + limit])))
    return "".join(body)


def family_page(
    fam: Family, tree: Genealogy | None = None, timelines: list[dict[str, Any]] | None = None
) -> str:
    members = "".join(f'<li><a href="{doc_url(m)}">{esc(m)}</a></li>' for m in fam.members)
    parts = [
        f"<h1>Family {esc(fam.id)}</h1><div class=facts><span>representative "
        f'<a href="{doc_url(fam.representative)}">{esc(fam.representative)}</a></span>'
        f"<span>earliest <b>{esc(fam.earliest or 'unknown')}</b> ({esc(fam.earliest_reason)})</span></div>"
    ]
    if tree is not None:
        parts.append(genealogy_section(tree))
    for t in timelines or []:
        parts.append(timeline_section(t))
    parts.append(f"<h2>{len(fam.members)} members</h2><ul>{members}</ul>")
    return "".join(parts)


def genealogy_section(g: Genealogy) -> str:
    """The family tree as inline SVG (``genealogy.layout``): each member links to its side-by-side
    view with its parent (or its first candidate, dashed when undecided); then the edges' reasons
    and changes and the variant readings."""
    tree = [e.to_dict() for e in g.tree]
    lay = layout(tree)
    edges = {e["child"]: e for e in tree}
    xs, ys = 112, 76
    width = int((max([n[1] for n in lay["nodes"]], default=0) + 1) * xs + 40)
    height = int((max([n[2] for n in lay["nodes"]], default=0) + 1) * ys + 36)
    pos = {n[0]: (20 + xs / 2 + n[1] * xs, 22 + n[2] * ys) for n in lay["nodes"]}
    svg = [
        f'<svg class=tree xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role=img><title>family tree</title>'
    ]
    for child, parent, decided in lay["links"]:
        (cx, cy), (px, py) = pos[child], pos[parent]
        svg.append(
            f'<path class="link{"" if decided else " open"}" d="M{px:.0f},{py + 7:.0f} C{px:.0f},{py + ys / 2:.0f} '
            f'{cx:.0f},{cy - ys / 2:.0f} {cx:.0f},{cy - 7:.0f}"><title>{esc(child)} '
            f"{'made from' if decided else 'may be made from'} {esc(parent)}</title></path>"
        )
    for node, _x, _y, copies in lay["nodes"]:
        e = edges[node]
        x, y = pos[node]
        parent = e["parent"] or (e["parent_candidates"][0] if e["parent_candidates"] else None)
        state = (
            "open" if e["parent"] is None and e["parent_candidates"] else ("root" if parent is None else "")
        )
        label = node + (f" (+{copies} copies)" if copies else "")
        if len(label) > 18:
            label = label[:17] + "…"
        change = changes_text(e["changes"]) if e["parent"] is not None else ""
        short = change if len(change) <= 18 else change[:17] + "\u2026"
        shape = (
            f'<circle cx="{x:.0f}" cy="{y:.0f}" r="7"/><text x="{x:.0f}" y="{y + 19:.0f}" '
            f'text-anchor="middle">{esc(label)}</text><title>{esc(node)}: {esc(e["reason"])}</title>'
        )
        if change and change != "no change":
            shape += (
                f'<text class=chg x="{x:.0f}" y="{y + 31:.0f}" text-anchor="middle">{esc(short)}'
                f"<title>{esc(change)}</title></text>"
            )
        if parent is not None:
            shape = f'<a href="{url("/pair", a=node, b=parent)}">{shape}</a>'
        svg.append(f'<g class="node {state}" data-id="{esc(node)}">{shape}</g>')
    svg.append("</svg>")
    rows = []
    for e in tree:
        made = (
            esc(e["parent"])
            if e["parent"]
            else ("one of " + esc(", ".join(e["parent_candidates"])) if e["parent_candidates"] else "—")
        )
        rows.append(
            f"<tr><td>{esc(e['child'])}</td><td>{made}</td><td>{esc(changes_text(e['changes']))}</td>"
            f"<td class=muted>{esc(e['reason'])}</td></tr>"
        )
    variants = "".join(
        f'<tr><td><mark class="edit k-{esc(v.kind)}">{esc(v.reading)}</mark></td><td>{esc(v.replaces)}</td>'
        f"<td>{esc(v.kind)}</td><td>{esc(v.first)}</td><td>{esc(', '.join(v.inherited))}</td></tr>"
        for v in g.variants
    )
    out = [
        "<h2>How the members descend</h2><p class=muted>Click a member to see it side by side with the "
        "member it was made from; dashed: undecided (its candidates).</p>",
        "".join(svg),
        "<table class=list><tr><th>member</th><th>made from</th><th>changes</th><th>why</th></tr>",
        "".join(rows),
        "</table>",
    ]
    if variants:
        out.append(
            "<h2>Variant readings</h2><table class=list><tr><th>reading</th><th>replaces</th><th>kind</th>"
            f"<th>first in</th><th>carried on by</th></tr>{variants}</table>"
        )
    return "".join(out)


def timeline_section(t: dict[str, Any]) -> str:
    """The versions of one article in date order, each diff's edits by kind."""
    versions = " → ".join(
        f'<a href="{doc_url(v["id"])}">{esc(v["id"])}</a>'
        + (f" <span class=muted>{esc(v['date'])}</span>" if v["date"] else "")
        for v in t["versions"]
    )
    rows = []
    for d in t["diffs"]:
        edits = "".join(
            f'<div><mark class="edit k-{esc(e["kind"])}">{esc(e["kind"])}</mark> '
            f"“{esc(e['a'][:200])}” → “{esc(e['b'][:200])}”</div>"
            for e in d["edits"][:200]
        )
        rows.append(
            f'<tr><td><a href="{url("/pair", a=d["from"], b=d["to"])}">{esc(d["from"])} → {esc(d["to"])}</a></td>'
            f"<td>{esc(d['relation'])}; {esc(changes_text(d['changes']))}{edits}</td></tr>"
        )
    return (
        f"<h2>Versions of {esc(t['key'])}</h2><p class=timeline>{versions}</p>"
        f"<table class=list><tr><th>diff</th><th>edits</th></tr>{''.join(rows)}</table>"
    )


def error_page(message: str) -> str:
    return f"<h1>Not found</h1><p class=error>{esc(message)}</p>"
