"""Draw a workflow as an SVG state diagram, from the same definition that runs it.

A small layered layout, no external tools: states are ranked by the longest path from the
initial state (loops aside) and drawn in rows; forward edges go down, edges back up (or
sideways) bend round the right-hand side, self-loops sit on the state's right edge.
"""
from __future__ import annotations

from collections.abc import Callable
from html import escape

from workflows.definition import Workflow

NODE_W, NODE_H = 150, 40
COL_GAP, ROW_GAP = 40, 70
MARGIN = 30


def _drawn(workflow: Workflow):
    """Transitions drawn as arrows. Those that leave from many states (withdraw, close on
    retirement) would cross the whole picture: they are listed under it instead."""
    return [t for t in workflow.transitions if len(t.source) < 3 and not t.bookkeeping]


def layout(workflow: Workflow) -> dict[str, tuple[float, float]]:
    """Centre point of each state: rows by longest path from the initial state."""
    successors: dict[str, list[str]] = {name: [] for name in workflow.state_names}
    for t in _drawn(workflow):
        for source in t.source:
            if t.dest != source and t.dest not in successors[source]:
                successors[source].append(t.dest)
    # Depth-first from the initial state; an edge back into the current path is a loop.
    back_edges, on_path, seen = set(), set(), set()

    def visit(name: str) -> None:
        seen.add(name)
        on_path.add(name)
        for nxt in successors[name]:
            if nxt in on_path:
                back_edges.add((name, nxt))
            elif nxt not in seen:
                visit(nxt)
        on_path.discard(name)

    visit(workflow.initial)
    for name in workflow.state_names:
        if name not in seen:
            visit(name)
    rank = dict.fromkeys(workflow.state_names, 0)
    changed = True
    while changed:  # longest path over the graph without its loops (small graphs)
        changed = False
        for source, targets in successors.items():
            for dest in targets:
                if (source, dest) not in back_edges and rank[dest] < rank[source] + 1:
                    rank[dest] = rank[source] + 1
                    changed = True

    reached = {dest for targets in successors.values() for dest in targets} | {workflow.initial}
    bottom = max(rank.values()) + 1
    for name in workflow.state_names:  # only reached by the listed shared exits: last row
        if name not in reached:
            rank[name] = bottom

    rows: dict[int, list[str]] = {}
    for name in workflow.state_names:  # table order within a row, then by parents' places
        rows.setdefault(rank[name], []).append(name)
    widest = max(len(r) for r in rows.values())
    width = widest * NODE_W + (widest - 1) * COL_GAP
    points: dict[str, tuple[float, float]] = {}
    parents = {name: [s for s, targets in successors.items() if name in targets and (s, name) not in back_edges]
               for name in workflow.state_names}
    for r in sorted(rows):
        names = rows[r]
        if r:
            def centre(name: str, i: int) -> float:
                xs = [points[p][0] for p in parents[name] if p in points]
                return sum(xs) / len(xs) if xs else width + i  # no parent drawn yet: keep order, right
            names = [n for _, n in sorted((centre(n, i), n) for i, n in enumerate(names))]
        row_width = len(names) * NODE_W + (len(names) - 1) * COL_GAP
        x0 = MARGIN + (width - row_width) / 2 + NODE_W / 2
        for i, name in enumerate(names):
            points[name] = (x0 + i * (NODE_W + COL_GAP), MARGIN + NODE_H / 2 + r * (NODE_H + ROW_GAP))
    return points


def shared_exits(workflow: Workflow) -> list[tuple[str, tuple[str, ...], str]]:
    """(trigger, from states, to state) of the transitions listed under the diagram."""
    return [(t.trigger, t.source, t.dest) for t in workflow.transitions if len(t.source) >= 3 and not t.bookkeeping]


def svg(
    workflow: Workflow,
    current: str | None = None,
    label: Callable[[str, str], str] = lambda kind, name: name,
) -> str:
    """The diagram as an SVG document. ``label(kind, name)`` names states ("state") and
    triggers ("trigger") for the reader, e.g. in Chinese."""
    points = layout(workflow)
    width = max(x for x, _ in points.values()) + NODE_W / 2 + MARGIN + 60
    height = max(y for _, y in points.values()) + NODE_H / 2 + MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="workflow-diagram" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="{escape(label("workflow", workflow.name))}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#52606d"/></marker></defs>',
    ]
    # Parallel edges between one pair of states share one arrow and list their triggers.
    edges: dict[tuple[str, str], list[str]] = {}
    for t in _drawn(workflow):
        for source in t.source:
            names = edges.setdefault((source, t.dest), [])
            if t.trigger not in names:
                names.append(t.trigger)
    back = 0
    for (source, dest), triggers in edges.items():
        text = ", ".join(label("trigger", name) for name in triggers)
        (x1, y1), (x2, y2) = points[source], points[dest]
        if source == dest:
            x = x1 + NODE_W / 4
            top = y1 - NODE_H / 2
            path = f"M{x - 12},{top} C{x - 22},{top - 28} {x + 22},{top - 28} {x + 12},{top}"
            lx, ly = x, top - 24
        elif y2 > y1:
            sx, sy, ex, ey = x1, y1 + NODE_H / 2, x2, y2 - NODE_H / 2
            path = f"M{sx},{sy} C{sx},{sy + ROW_GAP / 2} {ex},{ey - ROW_GAP / 2} {ex},{ey}"
            lx, ly = (sx + ex) / 2, (sy + ey) / 2 + 4
        else:
            back += 1
            bend = NODE_W / 2 + 25 + 12 * back
            sx, sy, ex, ey = x1 + NODE_W / 2, y1, x2 + NODE_W / 2, y2
            path = f"M{sx},{sy} C{x1 + bend},{sy} {x2 + bend},{ey} {ex},{ey}"
            lx, ly = sx + 30, sy - 6  # beside the start, where no forward edge runs
        parts.append(f'<path d="{path}" fill="none" stroke="#52606d" stroke-width="1.3" marker-end="url(#arrow)"/>')
        parts.append(
            f'<text x="{lx:.0f}" y="{ly:.0f}" class="edge-label" text-anchor="middle" font-size="11" '
            f'fill="#1f2933" paint-order="stroke" stroke="#fff" stroke-width="4">{escape(text)}</text>'
        )
    for state in workflow.states:
        x, y = points[state.name]
        fill = "#f0b400" if state.name == current else ("#e4e7eb" if state.final else "#e8f0fa")
        dashes = ' stroke-dasharray="4 3"' if state.pauses else ""  # waiting for the applicant
        stroke = "#1f2933" if state.name == current else "#0b4f8a"
        parts.append(
            f'<g class="state{" current" if state.name == current else ""}">'
            f'<rect x="{x - NODE_W / 2}" y="{y - NODE_H / 2}" width="{NODE_W}" height="{NODE_H}" rx="8" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="{2.5 if state.name == current else 1.2}"'
            f"{dashes}/>"
            f'<text x="{x}" y="{y + 5}" text-anchor="middle" font-size="13" '
            f'font-weight="{"bold" if state.name == current else "normal"}" fill="#1f2933">'
            f"{escape(label('state', state.name))}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)
