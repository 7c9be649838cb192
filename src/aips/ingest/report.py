"""The result of a load: what was read, loaded, set aside, and why.

Every row read is accounted for: ``rows_read = loaded + duplicates + ignored +
quarantined``, per file and in total (rows that could not be split into fields count
as read and quarantined; blank lines are not rows).

>>> r = IngestReport(table="events", rows_read=5, loaded=3, duplicates=1, ignored=0,
...                  quarantined=1, reasons={"missing brand": 1}, quarantine_file="q.csv")
>>> r.asdict()["reasons"], r.balanced
({'missing brand': 1}, True)
>>> print(r)  # doctest: +NORMALIZE_WHITESPACE
events: 5 rows read = 3 loaded + 1 duplicates + 0 ignored + 1 quarantined
  quarantined: missing brand 1
  quarantine file: q.csv
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class FileReport:
    """One source file of a load."""

    source_file: str
    load_id: str
    sha256: str | None = None
    format: str | None = None
    encoding: str | None = None
    rows_read: int = 0
    loaded: int = 0
    duplicates: int = 0
    ignored: int = 0
    quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    min_date: dt.date | None = None
    max_date: dt.date | None = None
    unused_columns: list[str] = field(default_factory=list)
    already_loaded_by: str | None = None
    """The earlier load of the same bytes when this run added nothing (no ``loads`` row then)."""

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.loaded + self.duplicates + self.ignored + self.quarantined


@dataclass
class IngestReport:
    """What a call of :func:`aips.ingest.ingest_files` did (all files together)."""

    table: str
    rows_read: int = 0
    loaded: int = 0
    duplicates: int = 0
    ignored: int = 0
    quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    quarantine_file: str | None = None
    files: list[FileReport] = field(default_factory=list)
    timezone: str | None = None
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)
    """Files of a data folder that are not data (a README.txt), not read."""
    reader: str | None = None
    """``backend``: the files were read by the store's backend (Spark's readers); None:
    by this process."""
    reader_note: Any = None
    """Why a backend that reads files (Spark) did not read these: an
    :class:`aips.ingest.backend_read.Note` (catalogue key ``ingest.why.KEY``)."""

    @property
    def balanced(self) -> bool:
        """``rows_read == loaded + duplicates + ignored + quarantined``."""
        return self.rows_read == self.loaded + self.duplicates + self.ignored + self.quarantined

    @property
    def load_ids(self) -> list[str]:
        return [f.load_id for f in self.files]

    def asdict(self) -> dict[str, Any]:
        """Plain JSON-ready data: the totals first, then ``table``, ``timezone``, ``files``."""
        files = []
        for f in self.files:
            d = asdict(f)
            d["min_date"] = f.min_date.isoformat() if f.min_date else None
            d["max_date"] = f.max_date.isoformat() if f.max_date else None
            files.append(d)
        return {
            "rows_read": self.rows_read,
            "loaded": self.loaded,
            "duplicates": self.duplicates,
            "ignored": self.ignored,
            "quarantined": self.quarantined,
            "reasons": dict(self.reasons),
            "quarantine_file": self.quarantine_file,
            "table": self.table,
            "timezone": self.timezone,
            "seconds": round(self.seconds, 3),
            "files": files,
            **({"skipped": list(self.skipped)} if self.skipped else {}),
            **({"reader": self.reader} if self.reader else {}),
            **({"reader_note": {"why": self.reader_note.key, **self.reader_note.values}}
               if self.reader_note else {}),
        }

    def __str__(self) -> str:
        return self.render()

    def render(self, verbose: bool = False, lang: str = "en") -> str:
        """The summary for people: one line of totals over all files, then the reasons,
        hints and the quarantine file; ``verbose`` adds one line per file (a directory of
        360 files is one summary otherwise). ``lang``: the catalogue's ``ingest.*`` words.

        >>> print(IngestReport(table="events", rows_read=2, loaded=2).render(lang="zh"))
        events：读取 2 行 = 载入 2 + 重复 0 + 忽略 0 + 隔离 0
        """
        from aips.config.labels import t, term_label

        def counts(x: Any) -> dict[str, str]:
            return {k: f"{getattr(x, a):,}" for k, a in (("read", "rows_read"), ("loaded", "loaded"),
                    ("duplicates", "duplicates"), ("ignored", "ignored"), ("quarantined", "quarantined"))}

        lines = [t("ingest.summary", lang, table=self.table, **counts(self))]
        if verbose and len(self.files) > 1:
            for f in self.files:
                lines.append(t("ingest.file", lang, file=f.source_file, **counts(f)))
        again = [f for f in self.files if f.already_loaded_by]
        if len(again) > 1 and not verbose:
            lines.append(t("ingest.again_many", lang, n=f"{len(again):,}", files=f"{len(self.files):,}",
                           file_first=again[0].source_file, load=again[0].already_loaded_by))
        else:
            for f in again:
                lines.append(t("ingest.again", lang, file=f.source_file, load=f.already_loaded_by))
        if self.reasons:
            parts = t("ingest.sep", lang).join(
                f"{term_label('reason', k, lang)} {v:,}"
                for k, v in sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))
            )
            lines.append(t("ingest.quarantined", lang, reasons=parts))
        if self.reasons.get("undecodable text"):
            encodings = sorted({f.encoding for f in self.files if f.encoding})
            lines.append(t("ingest.hint_encoding", lang, encodings=", ".join(encodings) or t("ingest.detected", lang)))
        for name in self.skipped:
            lines.append(t("ingest.skipped", lang, name=name))
        if self.quarantine_file:
            lines.append(t("ingest.quarantine_file", lang, file=self.quarantine_file))
        if self.reader == "backend":
            lines.append(t("ingest.read_by_backend", lang))
        if self.reader_note:
            lines.append(t("ingest.read_here", lang, why=t(f"ingest.why.{self.reader_note.key}", lang,
                                                            **self.reader_note.values)))
        return "\n".join(lines)
