"""The nested AND/OR rule editor: groups and conditions as widgets, kept in session state by node id.

The tree lives in `st.session_state[<key>-tree]` as canonical JSON plus an "id" per node; widget keys
carry the node id (and the field and operator, so changing the field resets what depends on it).
Structural edits (add, remove, move) are button callbacks that change the tree before the rerun.
"""
from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import streamlit as st

from crm_core.segments.catalog import Catalog, FieldSpec
from crm_core.segments.operators import (DAYS, MANY_VALUES, MAX_DEPTH, NO_VALUE, NUMERIC_TYPES, ONE_VALUE,
                                         OPERATORS, SEGMENT, TWO_VALUES)
from crm_core.segments.rules import Problem, parse_lenient
from crm_core.segments.workbench import picker_values
from crm_core.store import Store
from ui.text import plain_md

NEW_CONDITION = {"field": "total_spend", "op": ">", "value": None}


def _with_ids(node: dict) -> dict:
    out = {k: v for k, v in node.items() if k != "rules"}
    out["id"] = uuid.uuid4().hex[:10]
    if "rules" in node or "match" in node:
        out.setdefault("match", "all")
        out.setdefault("negate", False)
        out["rules"] = [_with_ids(child) for child in node.get("rules", [])]
    return out


def load_rules(canonical: dict, key: str = "seg") -> None:
    """Put a rule (canonical JSON) into the editor, replacing what it held."""
    st.session_state[f"{key}-tree"] = _with_ids(canonical)


def has_rules(key: str = "seg") -> bool:
    """Whether the editor holds a rule in this session."""
    return f"{key}-tree" in st.session_state


def canonical(node: dict) -> dict:
    """The editor's tree without its ids: canonical JSON for the core."""
    if "rules" in node:
        return {"match": node["match"], "negate": bool(node["negate"]),
                "rules": [canonical(child) for child in node["rules"]]}
    out = {"field": node.get("field")}
    if node.get("days") is not None:
        out["days"] = node["days"]
    out["op"] = node.get("op")
    if node.get("value") is not None:
        out["value"] = node["value"]
    return out


def _find(tree: dict, node_id: str) -> tuple[dict | None, int]:
    for i, child in enumerate(tree.get("rules", [])):
        if child["id"] == node_id:
            return tree, i
        parent, index = _find(child, node_id)
        if parent is not None:
            return parent, index
    return None, -1


def _node(tree: dict, node_id: str) -> dict | None:
    if tree["id"] == node_id:
        return tree
    return next((found for child in tree.get("rules", []) if (found := _node(child, node_id))), None)


def _add(key: str, group_id: str, group: bool) -> None:
    target = _node(st.session_state[f"{key}-tree"], group_id)
    if target is None:
        return
    child = {"match": "any", "negate": False, "rules": [dict(NEW_CONDITION)]} if group else dict(NEW_CONDITION)
    target["rules"].append(_with_ids(child))


def _remove(key: str, node_id: str) -> None:
    parent, index = _find(st.session_state[f"{key}-tree"], node_id)
    if parent is not None:
        parent["rules"].pop(index)


def _move(key: str, node_id: str, delta: int) -> None:
    parent, index = _find(st.session_state[f"{key}-tree"], node_id)
    if parent is not None and 0 <= index + delta < len(parent["rules"]):
        rules = parent["rules"]
        rules[index], rules[index + delta] = rules[index + delta], rules[index]


@st.cache_data(ttl=120, show_spinner=False)
def _pickers(_store: Store, path: str, field_key: str) -> list[str]:
    return picker_values(_store, field_key)


def _number(value: Any) -> float | None:
    try:
        return None if value is None or isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        return None


def _day(value: Any) -> date | None:
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _value_widget(store: Store, catalog: Catalog, spec: FieldSpec, op: str, node: dict, wkey: str, label: str) -> Any:
    """The value input that fits the field type and operator; returns a JSON-ready value."""
    takes, current = OPERATORS[op].takes, node.get("value")
    common = {"key": wkey, "label_visibility": "collapsed"}
    if takes == NO_VALUE:
        return None
    if takes == DAYS:
        days = _number(current)
        return st.number_input(f"Days {label}", min_value=0, max_value=36_500, step=1,
                               value=int(days) if days is not None and days >= 0 else 30, **common)
    if takes == SEGMENT:
        ids = list(catalog.segments)
        chosen = st.selectbox(f"Segment {label}", ids, index=ids.index(current) if current in ids else None,
                              format_func=lambda i: catalog.segments[i].name, placeholder="Choose a segment",
                              **common)
        return chosen
    if takes == MANY_VALUES:
        existing = _pickers(store, str(store.path), spec.key if spec.source == "items" else (spec.facet or ""))
        chosen = list(current) if isinstance(current, list) else []
        options = list(dict.fromkeys([*chosen, *existing]))
        return st.multiselect(f"Values {label}", options, default=chosen, accept_new_options=True,
                              placeholder="Pick or type values", **common) or None
    if spec.type in NUMERIC_TYPES:
        integer = spec.type == "integer"
        kwargs = {"step": 1 if integer else 10.0, "format": "%d" if integer else "%.2f"}
        if takes == TWO_VALUES:
            pair = current if isinstance(current, list) and len(current) == 2 else [None, None]
            low_col, high_col = st.columns(2)
            low = low_col.number_input(f"From {label}", value=_cast(pair[0], integer), placeholder="from",
                                       key=wkey + "-lo", label_visibility="collapsed", **kwargs)
            high = high_col.number_input(f"To {label}", value=_cast(pair[1], integer), placeholder="to",
                                         key=wkey + "-hi", label_visibility="collapsed", **kwargs)
            return None if low is None or high is None else [low, high]
        return st.number_input(f"Value {label}", value=_cast(current, integer), placeholder="a number",
                               **kwargs, **common)
    if spec.type == "date":
        if takes == TWO_VALUES:
            pair = current if isinstance(current, list) and len(current) == 2 else []
            days = [d for d in (_day(v) for v in pair) if d is not None]
            chosen = st.date_input(f"Dates {label}", value=days, format="YYYY-MM-DD", **common)
            chosen = list(chosen) if isinstance(chosen, (list, tuple)) else [chosen]
            return [d.isoformat() for d in chosen] if len(chosen) == 2 else None
        chosen = st.date_input(f"Date {label}", value=_day(current), format="YYYY-MM-DD", **common)
        return chosen.isoformat() if chosen else None
    text = st.text_input(f"Value {label}", value=str(current) if current is not None else "",
                         placeholder="a value", **common)
    return text or None


def _cast(value: Any, integer: bool) -> float | int | None:
    number = _number(value)
    return None if number is None else (int(number) if integer else number)


def _condition(store: Store, catalog: Catalog, node: dict, key: str, label: str,
               first: bool, last: bool) -> None:
    fields = catalog.fields()
    keys = [f.key for f in fields]
    nid = node["id"]
    c_field, c_op, c_value, c_tools = st.columns([3.2, 2, 3.6, 1.4], vertical_alignment="top")
    field_key = c_field.selectbox(
        f"Field {label}", keys, index=keys.index(node["field"]) if node.get("field") in keys else 0,
        format_func=lambda k: f"{catalog.field(k).section} · {catalog.field(k).label}",
        key=f"{key}-{nid}-field", label_visibility="collapsed")
    spec = catalog.field(field_key)
    ops = list(spec.operators)
    with c_op:
        if spec.needs_days:
            days = _number(node.get("days"))
            node["days"] = st.number_input(f"Window in days {label}", min_value=1, max_value=36_500, step=1,
                                           value=int(days) if days and days >= 1 else 90,
                                           key=f"{key}-{nid}-days", help="Counted back from the as-of date.")
        else:
            node.pop("days", None)
        op = st.selectbox(f"Operator {label}", ops, index=ops.index(node["op"]) if node.get("op") in ops else 0,
                          format_func=lambda o: OPERATORS[o].label, key=f"{key}-{nid}-op-{field_key}",
                          label_visibility="collapsed")
    previous = OPERATORS.get(node.get("op"))
    if node.get("field") != field_key or previous is None or previous.takes != OPERATORS[op].takes:
        node["value"] = None  # a value typed for another field or operator shape does not carry over
    node["field"], node["op"] = field_key, op
    with c_value:
        node["value"] = _value_widget(store, catalog, spec, op, node, f"{key}-{nid}-val-{field_key}-{op}", label)
    with c_tools:
        up, down, drop = st.columns(3)
        up.button("", icon=":material/arrow_upward:", key=f"{key}-{nid}-up", help="Move up", disabled=first,
                  on_click=_move, args=(key, nid, -1))
        down.button("", icon=":material/arrow_downward:", key=f"{key}-{nid}-down", help="Move down",
                    disabled=last, on_click=_move, args=(key, nid, 1))
        drop.button("", icon=":material/close:", key=f"{key}-{nid}-remove", help="Remove this condition",
                    on_click=_remove, args=(key, nid))
    _, problems = parse_lenient({"match": "all", "rules": [canonical(node)]}, catalog)
    if problems and node.get("value") is None and OPERATORS[op].takes != NO_VALUE:
        st.caption(f":orange[:material/edit: {plain_md(spec.label)} {OPERATORS[op].label}: give a value "
                   "(left out of the count until then)]")
    elif problems:
        st.caption(f":red[:material/error: {plain_md(problems[0].message)} — left out of the count]")


def _group(store: Store, catalog: Catalog, node: dict, key: str, label: str, depth: int) -> None:
    nid = node["id"]
    with st.container(border=True):
        head, negate, tools = st.columns([4, 1.5, 0.6], vertical_alignment="center")
        node["match"] = head.segmented_control(
            f"Group {label or 'top'} matches", ["all", "any"], default=node.get("match", "all"),
            format_func=lambda m: "All of these (AND)" if m == "all" else "Any of these (OR)",
            key=f"{key}-{nid}-match", selection_mode="single", label_visibility="collapsed") or "all"
        node["negate"] = negate.toggle("NOT", value=bool(node.get("negate")), key=f"{key}-{nid}-negate",
                                       help="Turn the group around: customers who do NOT match it.")
        if depth > 1:
            tools.button("", icon=":material/delete:", key=f"{key}-{nid}-remove", help="Remove this group",
                         on_click=_remove, args=(key, nid))
        children = node["rules"]
        if not children:
            st.caption("Empty group: " + ("matches everyone." if node["match"] == "all" else "matches no one."))
        for i, child in enumerate(children):
            child_label = f"{label}.{i + 1}" if label else str(i + 1)
            if i:
                st.caption("AND" if node["match"] == "all" else "OR")
            if "rules" in child:
                _group(store, catalog, child, key, child_label, depth + 1)
            else:
                _condition(store, catalog, child, key, child_label, i == 0, i == len(children) - 1)
        add_c, add_g, _ = st.columns([1, 1, 4])
        add_c.button("Condition", icon=":material/add:", key=f"{key}-{nid}-add", on_click=_add,
                     args=(key, nid, False), help="Add a condition to this group")
        add_g.button("Group", icon=":material/account_tree:", key=f"{key}-{nid}-addgroup", on_click=_add,
                     args=(key, nid, True), disabled=depth >= MAX_DEPTH,
                     help="Add a nested group (e.g. an OR inside an AND)")


def rule_editor(store: Store, catalog: Catalog, key: str = "seg") -> dict:
    """Draw the editor for the rule held in session state; return it as canonical JSON."""
    tree_key = f"{key}-tree"
    if tree_key not in st.session_state:
        load_rules({"match": "all", "negate": False, "rules": [dict(NEW_CONDITION)]}, key)
    tree = st.session_state[tree_key]
    _group(store, catalog, tree, key, "", 1)
    return canonical(tree)


def problem_lines(problems: tuple[Problem, ...]) -> list[str]:
    """Problems as lines naming the condition ('1.2: ...')."""
    return [f"{'.'.join(str(i + 1) for i in p.path) or 'rule'}: {p.message}" for p in problems]
