"""One catalogue (issue 16, item 15): every word a user reads comes from
``aips.config.labels`` over the data file ``labels.yaml``. No module writes a Chinese string
of its own (docstrings aside); the few exceptions below are not labels of a face."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "aips"
CJK = re.compile(r"[\u4e00-\u9fff]")

EXCEPTIONS = {
    "dashboard/security.py": "the login page is bilingual on purpose (before any language is chosen)",
    "cli/demo_cmd.py": "the demo points to both reports, one line in each language",
    "cli/report_cmd.py": "--lang's help names 万/亿",
    "ingest/timestamps.py": "parses 2024年1月2日 (input, not output)",
    "ingest/validate.py": "parses 是/否 booleans (input, not output)",
}


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def test_no_module_has_its_own_chinese_words():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel == "config/labels.py" or rel in EXCEPTIONS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
                    and CJK.search(node.value)):
                offenders.append(f"{rel}:{node.lineno}: {node.value[:40]!r}")
    assert not offenders, "Chinese words outside labels.yaml:\n" + "\n".join(offenders)


def test_the_diagnosis_speaks_from_the_catalogue():
    from aips.activation import diagnose
    from aips.config.labels import LABELS

    for lang in ("en", "zh"):
        for name, text in diagnose._WORDS[lang].items():
            assert LABELS[lang][f"diagnose.{name}"] == text
    assert "playbook" in diagnose._WORDS["zh"] and "title" in diagnose._WORDS["en"]
