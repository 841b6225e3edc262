"""Sniffing an uploaded file: format, encoding, delimiter, quote, header row, and the first rows parsed.

Whatever comes in (CSV, TSV, .csv.gz, .xlsx; UTF-8 with or without BOM, UTF-16, Windows-1252,
Latin-1), the result names a UTF-8 (or gzipped UTF-8) CSV that DuckDB's reader can scan.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
import shutil
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE_BYTES = 256 * 1024
SAMPLE_LINES = 200
PREVIEW_ROWS = 10
FULL_UTF8_CHECK_BYTES = 64 * 1024 * 1024
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1")
ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "utf-16": "UTF-16",
                  "cp1252": "Windows-1252", "latin-1": "Latin-1 (ISO-8859-1)"}


class ImportFileError(ValueError):
    """A file that cannot be imported at all, with a message that says why and what to do."""


@dataclass(frozen=True)
class SourceFile:
    """What sniffing learnt about one file, and the UTF-8 CSV the reader scans."""

    name: str
    path: Path
    size: int
    digest: Future = field(repr=False, compare=False)  # the file's SHA-256, computed in the background
    format: str
    encoding: str
    delimiter: str
    quote: str
    header_line: int
    has_header: bool
    headers: tuple[str, ...]
    preview: tuple[tuple[str, ...], ...]
    readable_path: Path
    compressed: bool
    notes: tuple[str, ...] = field(default=())

    @property
    def sha256(self) -> str:
        """The SHA-256 of the file's bytes (waits for the background hashing to finish)."""
        return self.digest.result()

    @property
    def skip_lines(self) -> int:
        """Lines the reader skips before the first data row."""
        return self.header_line + 1 if self.has_header else self.header_line

    def describe(self) -> str:
        """The sniffed format in one line."""
        kind = {"csv": "CSV", "gzip": "gzipped CSV", "xlsx": "Excel workbook (first sheet)"}[self.format]
        header = f"header on line {self.header_line + 1}" if self.has_header else "no header row"
        return (f"{kind}, {ENCODING_NAMES.get(self.encoding, self.encoding)}, "
                f"{DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))}-separated, {header}, "
                f"{len(self.headers)} columns")


# Hashing a large file takes one core about 0.4 s per 600 MB: it runs beside the import's first steps, which leave
# a core idle part of the time, instead of before them.
_HASHING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="file-sha256")


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _head(path: Path, compressed: bool) -> bytes:
    try:
        if compressed:
            with gzip.open(path, "rb") as handle:
                return handle.read(SAMPLE_BYTES)
        with open(path, "rb") as handle:
            return handle.read(SAMPLE_BYTES)
    except (OSError, EOFError) as exc:
        raise ImportFileError(f"The file could not be read as gzip ({exc}).") from exc


def _detect_encoding(path: Path, head: bytes, compressed: bool) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if b"\x00" in head[:4096]:
        raise ImportFileError("This is not a text file (it contains binary data). Upload a CSV, TSV, "
                              ".csv.gz or .xlsx file; from Excel or Numbers use 'Save as CSV'.")
    if _is_utf8(path, head, compressed):
        return "utf-8-sig" if head.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        head.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _is_utf8(path: Path, head: bytes, compressed: bool) -> bool:
    if not compressed and path.stat().st_size <= FULL_UTF8_CHECK_BYTES:
        data = path.read_bytes()
        try:
            data.decode("utf-8")
            return True
        except UnicodeDecodeError:
            return False
    for cut in range(4):  # the sample may end inside a multi-byte character
        try:
            head[: len(head) - cut].decode("utf-8")
            return True
        except UnicodeDecodeError:
            continue
    return False


def _rows(lines: list[str], delimiter: str, quote: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter, quotechar=quote)
    try:
        return [row for row in reader]
    except csv.Error:
        return []


def _detect_delimiter(lines: list[str], quote: str, prefer_tab: bool) -> tuple[str, int]:
    best = (",", 1, -1.0)
    for delimiter in DELIMITERS:
        counts = [len(r) for r in _rows(lines, delimiter, quote) if r]
        if not counts:
            continue
        mode, hits = Counter(counts).most_common(1)[0]
        if mode < 2:
            continue
        score = hits / len(counts) + (0.5 if prefer_tab and delimiter == "\t" else 0) + min(mode, 50) / 1000
        if score > best[2]:
            best = (delimiter, mode, score)
    return best[0], best[1]


def _looks_like_data(value: str) -> bool:
    text = value.strip()
    if not text:
        return True
    if "@" in text:
        return True
    stripped = text.replace(".", "").replace(",", "").replace("-", "").replace("/", "").replace(":", "")
    return stripped.replace(" ", "").isdigit()


def _header_position(rows: list[list[str]], width: int) -> tuple[int, bool]:
    """Where the table starts (rows before it are a preamble) and whether that row is a header.

    A first row of header-like text is the header even when the data rows are wider (values with
    unquoted delimiters): those rows are then reported as ragged instead of silently misread.
    """
    def header_like(row: list[str], blanks: bool = False) -> bool:
        named = [v for v in row if v.strip()] if blanks else row  # pandas writes the index under a blank name
        return bool(named) and not any(_looks_like_data(v) for v in named)

    if rows and len(rows[0]) > 1 and header_like(rows[0]):
        return 0, True
    position = next((i for i, row in enumerate(rows[:20]) if len(row) == width), 0)
    return position, header_like(rows[position], blanks=True) if rows else False


def _readable(path: Path, source_format: str, encoding: str, work_dir: Path) -> Path:
    """The file as UTF-8 the reader can scan: the upload itself when it already is, else a transcoded copy."""
    if encoding in ("utf-8", "utf-8-sig"):
        return path
    target = work_dir / f"{path.name}.utf8.csv"
    opener = gzip.open if source_format == "gzip" else open
    codec = "utf-16" if encoding == "utf-16" else encoding
    with opener(path, "rb") as raw, open(target, "w", encoding="utf-8", newline="") as out:
        text = io.TextIOWrapper(raw, encoding=codec, errors="replace", newline="")
        shutil.copyfileobj(text, out, 1 << 20)
    return target


def _excel_to_csv(path: Path, work_dir: Path) -> Path:
    import polars as pl

    try:
        frame = pl.read_excel(path, has_header=False, infer_schema_length=0)
    except Exception as exc:  # noqa: BLE001 - any reader failure means "not a readable workbook"
        raise ImportFileError(f"This Excel file could not be read ({type(exc).__name__}). "
                              "Open it in Excel and save it again as .xlsx or CSV.") from exc
    target = work_dir / f"{path.name}.csv"
    frame.write_csv(target, include_header=False, quote_style="non_numeric")
    return target


def _is_workbook(path: Path) -> bool:
    """Whether a zip file is an Excel workbook (whatever it is named)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _format_of(path: Path, name: str) -> str:
    with open(path, "rb") as handle:
        magic = handle.read(8)
    lower = name.lower()
    if magic.startswith(b"\x1f\x8b"):
        return "gzip"
    if magic.startswith(b"PK\x03\x04"):
        if lower.endswith((".xlsx", ".xlsm")) or _is_workbook(path):
            return "xlsx"
        raise ImportFileError("This is a zip archive. Unzip it and upload the CSV inside, or upload an .xlsx file.")
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError("Old Excel .xls files are not supported: open the file in Excel and save it as "
                              ".xlsx or CSV.")
    if lower.endswith((".xlsx", ".xlsm")):
        raise ImportFileError("This file is named .xlsx but is not an Excel workbook.")
    return "csv"


def sniff_file(path: Path, name: str, work_dir: Path, *, delimiter: str | None = None,
               encoding: str | None = None, has_header: bool | None = None) -> SourceFile:
    """Sniff one file; the keyword arguments override what would be detected."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise ImportFileError("The file is empty.")
    source_format = _format_of(path, name)
    notes = []
    scan_path, compressed = path, source_format == "gzip"
    if source_format == "xlsx":
        scan_path, compressed = _excel_to_csv(path, work_dir), False
    head = _head(scan_path, compressed)
    if not head.strip():
        raise ImportFileError("The file has no rows (it is empty or only blank lines).")
    detected = _detect_encoding(scan_path, head, compressed)
    if encoding and encoding not in ENCODINGS:
        raise ImportFileError(f"Unknown encoding '{encoding}' (choose one of {', '.join(ENCODINGS)}).")
    encoding = encoding or detected
    if encoding in ("cp1252", "latin-1") and detected == encoding:
        notes.append(f"The file is not UTF-8: read as {ENCODING_NAMES[encoding]}.")
    codec = "utf-16" if encoding == "utf-16" else encoding
    text = head.decode(codec, errors="replace").lstrip("\ufeff")
    lines = text.splitlines()[:SAMPLE_LINES]
    if len(head) == SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the sample's last line may be cut short
    # Excel's "sep=;" first line names the delimiter and is not part of the table.
    hint = re.match(r"^sep=(.)$", lines[0].strip(), re.IGNORECASE) if lines else None
    offset = 1 if hint else 0
    lines = lines[offset:]
    quote = "'" if sum(line.startswith("'") for line in lines) > len(lines) / 2 else '"'
    chosen, width = _detect_delimiter(lines, quote, prefer_tab=name.lower().endswith((".tsv", ".tsv.gz", ".tab")))
    if hint and hint.group(1) in DELIMITERS:
        chosen = hint.group(1)
        width = Counter(len(r) for r in _rows(lines, chosen, quote) if r).most_common(1)[0][0] if lines else 1
    delimiter = delimiter or chosen
    rows = [r for r in _rows(lines, delimiter, quote) if any(v.strip() for v in r)]
    if not rows:
        raise ImportFileError("No rows could be read from the file.")
    width = Counter(len(r) for r in rows).most_common(1)[0][0] if delimiter != chosen else width
    position, detected_header = _header_position(rows, width)
    has_header = detected_header if has_header is None else has_header
    first = rows[position]
    if has_header:
        headers = tuple(_unique_headers(first))
    else:
        headers = tuple(f"Column {i + 1}" for i in range(len(first)))
    header_line = _line_index(lines, rows[position], delimiter, quote)
    if header_line > 0:
        notes.append(f"The first {header_line} line(s) are not part of the table and are skipped.")
    header_line += offset
    data_rows = rows[position + (1 if has_header else 0):]
    if has_header and not data_rows and len(lines) <= 1 and len(head) < SAMPLE_BYTES:  # else a row is cut off
        raise ImportFileError("The file has a header row but no data rows.")
    wider = [len(r) for r in data_rows[:PREVIEW_ROWS * 10] if len(r) != len(headers)]
    if has_header and data_rows and len(wider) > len(data_rows[:PREVIEW_ROWS * 10]) / 2:
        notes.append(f"Most rows have {Counter(wider).most_common(1)[0][0]} fields but the header has {len(headers)}: "
                     f"a value probably contains an unquoted {DELIMITER_NAMES.get(delimiter, delimiter)}. Those rows "
                     "will be rejected; quote such values (or export the file again) and upload it again.")
    preview = tuple(tuple(r) for r in data_rows[:PREVIEW_ROWS])
    readable = _readable(scan_path, "gzip" if compressed else "csv", encoding, work_dir)
    if readable != scan_path:
        compressed = False
    return SourceFile(
        name=name, path=path, size=size, digest=_HASHING.submit(file_sha256, path), format=source_format, encoding=encoding,
        delimiter=delimiter, quote=quote, header_line=header_line, has_header=has_header, headers=headers,
        preview=preview, readable_path=readable, compressed=compressed, notes=tuple(notes),
    )


def _line_index(lines: list[str], row: list[str], delimiter: str, quote: str) -> int:
    """The index of the line a parsed row starts on (rows never span lines before the header)."""
    for index, line in enumerate(lines):
        parsed = _rows([line], delimiter, quote)
        if parsed and parsed[0] == row:
            return index
    return 0


def _unique_headers(values: list[str]) -> list[str]:
    headers: list[str] = []
    for index, value in enumerate(values):
        name = value.strip().lstrip("\ufeff") or f"Column {index + 1}"
        base, n = name, 2
        while name in headers:
            name, n = f"{base} ({n})", n + 1
        headers.append(name)
    return headers
