"""The readable API reference page: the OpenAPI document rendered as plain HTML (no scripts, works offline)."""
from __future__ import annotations

import html
import json
from typing import Any

from api.errors import CODES
from api.openapi import document

_STYLE = """body{font-family:system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#1f2937}
h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #e5e7eb;padding-bottom:.3rem}
.op{border:1px solid #e5e7eb;border-radius:8px;padding:.6rem 1rem;margin:.8rem 0}
.m{font-weight:700;display:inline-block;min-width:4.5rem}.GET{color:#2563eb}.POST{color:#16a34a}
.PUT,.PATCH{color:#d97706}.DELETE{color:#dc2626}code,pre{background:#f3f4f6;border-radius:4px;padding:.1rem .3rem}
pre{padding:.6rem;overflow-x:auto;font-size:.8rem}table{border-collapse:collapse}td,th{padding:.2rem .6rem;
text-align:left;border-bottom:1px solid #f3f4f6;vertical-align:top}details summary{cursor:pointer;color:#4b5563}"""


def _e(text: Any) -> str:
    return html.escape(str(text))


def _operation(path: str, method: str, op: dict) -> str:
    rows = "".join(f"<tr><td><code>{_e(p['name'])}</code></td><td>{_e(p['in'])}</td>"
                   f"<td>{'required' if p.get('required') else ''}</td><td>{_e(p.get('description', ''))}</td></tr>"
                   for p in op.get("parameters", []))
    body = op.get("requestBody", {}).get("content", {})
    answers = ", ".join(f"{_e(code)}" for code in op["responses"])
    parts = [f'<div class="op"><span class="m {method.upper()}">{method.upper()}</span> <code>{_e(path)}</code>'
             f" — {_e(op['summary'])}", f"<p>{_e(op.get('description', ''))}</p>"]
    if rows:
        parts.append(f"<table><tr><th>parameter</th><th>in</th><th></th><th></th></tr>{rows}</table>")
    for kind, spec in body.items():
        parts.append(f"<details><summary>Body ({_e(kind)})</summary><pre>"
                     f"{_e(json.dumps(spec.get('schema', {}), indent=2))}</pre></details>")
    ok = next(iter(op["responses"].values())).get("content", {}).get("application/json", {}).get("schema")
    if ok:
        parts.append(f"<details><summary>Answer</summary><pre>{_e(json.dumps(ok, indent=2))}</pre></details>")
    parts.append(f"<p>Status codes: {answers}</p></div>")
    return "".join(parts)


def page() -> str:
    """The whole reference as one HTML page."""
    doc = document()
    by_tag: dict[str, list[str]] = {}
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            by_tag.setdefault(op["tags"][0], []).append(_operation(path, method, op))
    sections = "".join(f"<h2>{_e(tag)}</h2>{''.join(ops)}" for tag, ops in by_tag.items())
    errors = "".join(f"<tr><td><code>{_e(code)}</code></td><td>{status}</td><td>{_e(text)}</td></tr>"
                     for code, (status, text) in CODES.items())
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{_e(doc['info']['title'])}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{_e(doc['info']['title'])} "
            f"<small>v{_e(doc['info']['version'])}</small></h1><p>{_e(doc['info']['description'])}</p>"
            "<p>Machine-readable: <a href='openapi.json'>openapi.json</a> (OpenAPI 3.1).</p>"
            f"<h2>Errors</h2><table>{errors}</table>{sections}</body></html>")
