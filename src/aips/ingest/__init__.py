"""Loss-free ingestion: files -> mapped, validated, deduplicated rows in the store.

Every input row ends up loaded, quarantined with a reason (and its file and line), or
counted as a duplicate or as ignored; the :class:`IngestReport` says so and
``rows_read = loaded + duplicates + ignored + quarantined`` always holds.

* :func:`ingest_files` (``Workspace.ingest``, ``aips ingest``): the front door.
* :mod:`~aips.ingest.mapping`: mapping files and the bundled presets.
* :mod:`~aips.ingest.readers`: CSV/TSV, JSON Lines, Parquet, Excel; gzip; encodings
  (:mod:`~aips.ingest.chunk`: what readers yield; :mod:`~aips.ingest.delimited`: CSV/TSV).
* :mod:`~aips.ingest.timestamps`: time zones and timestamp forms.
* :mod:`~aips.ingest.validate`: checks and the quarantine reason vocabulary (``REASONS``).
* :mod:`~aips.ingest.dedupe`: event ids and duplicates, on the backend.
* :mod:`~aips.ingest.stage` and :mod:`~aips.ingest.load`: scratch space and publication.
"""

from aips.ingest.load import ingest_files
from aips.ingest.mapping import Mapping, load_mapping, load_preset, preset_names
from aips.ingest.report import FileReport, IngestReport
from aips.ingest.validate import REASONS

__all__ = [
    "REASONS",
    "FileReport",
    "IngestReport",
    "Mapping",
    "ingest_files",
    "load_mapping",
    "load_preset",
    "preset_names",
]
