"""Our encoding and delimiter detection against the libraries we weighed for them (docs/decisions.md):
charset-normalizer (encodings), csv.Sniffer and clevercsv (delimiters), on the cases we meet.

Run: .venv/bin/python -m benchmarks.evaluate_detection
(clevercsv is not a project dependency: install it into the venv to include it in the table.)
Only the first 64 KiB are given to every detector, as the pipeline gives them to ours.
"""

from __future__ import annotations

import codecs
import csv
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "shared"), str(Path(__file__).resolve().parents[1])]

from benchmarks.export_files import (  # noqa: E402
    GOOGLE_NEW,
    HUBSPOT,
    OUTLOOK,
    SALESFORCE,
    row_for,
    table,
)
from contacts_import.pipeline.encodings import AUTO, Utf8OrWindows1252Decoder, detect_encoding  # noqa: E402
from contacts_import.pipeline.reading import HEAD_BYTES, detect_delimiter  # noqa: E402

NAMES = ["Jane Doe", "Zoë Ünal", "René Müller", "Søren Kierkegaard", "Łukasz Żółć", "O'Neil, Pat", "Ana “Nena” Ruiz"]


def people(count: int, seed: int, accents_from: int = 0) -> list[list[str]]:
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        name = rng.choice(NAMES) if n >= accents_from else "Plain Name"
        rows.append([f"+1 212 736 {n % 10000:04d}", name, f"user{n}@example.com", "Acme; Inc" if n % 7 == 0 else "Co"])
    return rows


HEADER = ["Phone", "Name", "Email", "Company"]


def decoded_with(data: bytes, encoding: str) -> str | None:
    """The text an encoding gives for the whole file, None if it cannot decode it."""
    try:
        if encoding == AUTO:
            return Utf8OrWindows1252Decoder().decode(data, final=True)
        return codecs.decode(data, encoding)
    except (UnicodeDecodeError, LookupError):
        return None


# (case, bytes, the text the file holds)
def encoding_cases() -> list[tuple[str, bytes, str]]:
    cases = []
    text = table(HEADER, people(500, 1))
    cases.append(("UTF-8", text.encode("utf-8"), text))
    cases.append(("UTF-8 with BOM", codecs.BOM_UTF8 + text.encode("utf-8"), text))
    cases.append(("UTF-16 LE with BOM (Excel Unicode Text)", codecs.BOM_UTF16_LE + text.encode("utf-16-le"), text))
    cases.append(("UTF-16 BE with BOM", codecs.BOM_UTF16_BE + text.encode("utf-16-be"), text))
    ansi_rows = [
        [
            c.replace("Ł", "L")
            .replace("ł", "l")
            .replace("ż", "z")
            .replace("ó", "o")
            .replace("ć", "c")
            .replace("Ż", "Z")
            for c in row
        ]
        for row in people(500, 2)
    ]
    ansi = table(HEADER, ansi_rows)
    cases.append(("Windows-1252 (Excel ANSI)", ansi.encode("cp1252"), ansi))
    outlook = table(
        OUTLOOK,
        [
            row_for(
                OUTLOOK,
                **{
                    "First Name": "René",
                    "Last Name": "Müller",
                    "Company": "Bäckerei “Süß”",
                    "Mobile Phone": "+1 650 253 0000",
                },
            )
        ],
    )
    cases.append(("Outlook export, Windows-1252", outlook.encode("cp1252"), outlook))
    late = table(
        HEADER,
        [
            [
                c.replace("Ł", "L")
                .replace("ł", "l")
                .replace("ż", "z")
                .replace("ó", "o")
                .replace("ć", "c")
                .replace("Ż", "Z")
                for c in row
            ]
            for row in people(6000, 3, 5000)
        ],
    )
    cases.append(("Windows-1252, first accent after 64 KiB", late.encode("cp1252"), late))
    latin = table(HEADER, [["+33 1 23 45 67 89", "Hélène Gaël", "h@example.fr", "Société"]] * 50)
    cases.append(("Latin-1 (French)", latin.encode("latin-1"), latin))
    ascii_only = table(HEADER, [["+12127365000", "Plain", "p@example.com", "Co"]] * 100)
    cases.append(("ASCII only", ascii_only.encode("ascii"), ascii_only))
    short = table(["phone", "name"], [["+4930901820", "Jürgen"]])
    cases.append(("Short UTF-8 (two rows)", short.encode("utf-8"), short))
    cases.append(("Short Windows-1252 (two rows)", short.encode("cp1252"), short))
    return cases


def charset_normalizer_guess(head: bytes) -> str | None:
    import charset_normalizer

    best = charset_normalizer.from_bytes(head).best()
    return best.encoding if best else None


def delimiter_cases() -> list[tuple[str, str, str]]:
    cases = []
    for delimiter, name in ((",", "comma"), (";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
        cases.append(
            (f"{name}: contacts with quoted delimiters", table(HEADER, people(200, 4), delimiter=delimiter), delimiter)
        )
    cases.append(
        (
            "semicolon: European Excel with decimal commas",
            table(["Name", "Telefon", "Umsatz"], [["Müller, J.", "030 901820", "1.234,56"]] * 30, delimiter=";"),
            ";",
        )
    )
    cases.append(
        (
            "comma: Google Contacts (many empty columns)",
            table(GOOGLE_NEW, [row_for(GOOGLE_NEW, **{"First Name": "Zoë", "Phone 1 - Value": "+1 650 253 0000"})] * 5),
            ",",
        )
    )
    cases.append(("comma: HubSpot", table(HUBSPOT, [row_for(HUBSPOT, **{"Phone Number": "1"})] * 5), ","))
    cases.append(("comma: Salesforce, one data row", table(SALESFORCE, [row_for(SALESFORCE, Phone="1")]), ","))
    cases.append(
        (
            "comma: two columns, names with semicolons",
            table(["phone", "name"], [["+12127365000", "Doe; Jane"]] * 20),
            ",",
        )
    )
    cases.append(
        ("tab: names with commas", table(["phone", "name"], [["+12127365000", "Doe, Jane"]] * 20, delimiter="\t"), "\t")
    )
    cases.append(
        (
            "comma: quoted line breaks",
            table(["phone", "note"], [["+12127365000", "line one\nline; two | three"]] * 20),
            ",",
        )
    )
    cases.append(
        (
            "pipe: hand-made, lone CR line ends",
            table(["Full Name", "Tel"], [["Ann", "+12127365000"]] * 10, delimiter="|", newline="\r"),
            "|",
        )
    )
    return cases


def sniffer_guess(text: str) -> str | None:
    try:
        return csv.Sniffer().sniff(text, delimiters=",;\t|").delimiter
    except csv.Error:
        return None


def clevercsv_guess(text: str) -> str | None:
    import clevercsv

    dialect = clevercsv.Sniffer().sniff(text, delimiters=[",", ";", "\t", "|"])
    return dialect.delimiter if dialect else None


def score(name: str, guess: Callable[[], object], right: Callable[[object], bool]) -> tuple[str, float]:
    started = time.perf_counter()
    try:
        answer = guess()
        ok = right(answer)
    except Exception as error:
        answer, ok = f"error: {type(error).__name__}", False
    return ("ok  " if ok else "WRONG ") + str(answer), (time.perf_counter() - started) * 1000


def main() -> None:
    have_charset = _importable("charset_normalizer")
    have_clever = _importable("clevercsv")
    print("Encodings (right = decodes the whole file to its text)\n")
    print(f"| case | ours | {'charset-normalizer' if have_charset else '(charset-normalizer not installed)'} |")
    print("|---|---|---|")
    totals = {"ours": 0, "charset": 0}
    cases = encoding_cases()
    for case, data, text in cases:
        head = data[:HEAD_BYTES]
        ours, ours_ms = score(
            "ours", lambda h=head: detect_encoding(h), lambda e, d=data, t=text: decoded_with(d, e) == t
        )
        totals["ours"] += ours.startswith("ok")
        theirs, theirs_ms = ("", 0.0)
        if have_charset:
            theirs, theirs_ms = score(
                "charset",
                lambda h=head: charset_normalizer_guess(h),
                lambda e, d=data, t=text: e is not None and decoded_with(d, str(e)) == t,
            )
            totals["charset"] += theirs.startswith("ok")
        print(f"| {case} | {ours} ({ours_ms:.1f} ms) | {theirs} ({theirs_ms:.1f} ms) |")
    print(f"\nright: ours {totals['ours']}/{len(cases)}, charset-normalizer {totals['charset']}/{len(cases)}\n")

    print("Delimiters\n")
    print(f"| case | ours | csv.Sniffer | {'clevercsv' if have_clever else '(clevercsv not installed)'} |")
    print("|---|---|---|---|")
    totals = {"ours": 0, "sniffer": 0, "clever": 0}
    dcases = delimiter_cases()
    for case, text, delimiter in dcases:
        head = text[:HEAD_BYTES]
        whole = len(text) <= HEAD_BYTES
        ours, ours_ms = score(
            "ours",
            lambda h=head, w=whole: detect_delimiter(h, w),
            lambda d, want=delimiter: d == want,
        )
        sniff, sniff_ms = score("sniffer", lambda h=head: sniffer_guess(h), lambda d, want=delimiter: d == want)
        totals["ours"] += ours.startswith("ok")
        totals["sniffer"] += sniff.startswith("ok")
        clever, clever_ms = ("", 0.0)
        if have_clever:
            clever, clever_ms = score("clever", lambda h=head: clevercsv_guess(h), lambda d, want=delimiter: d == want)
            totals["clever"] += clever.startswith("ok")
        show = lambda s: s.replace("\t", "\\t")  # noqa: E731
        print(
            f"| {case} | {show(ours)} ({ours_ms:.1f} ms) | {show(sniff)} ({sniff_ms:.1f} ms) | "
            f"{show(clever)} ({clever_ms:.1f} ms) |"
        )
    print(
        f"\nright: ours {totals['ours']}/{len(dcases)}, csv.Sniffer {totals['sniffer']}/{len(dcases)}, "
        f"clevercsv {totals['clever']}/{len(dcases)}"
    )


def _importable(module: str) -> bool:
    try:
        __import__(module)
        return True
    except ImportError:
        return False


if __name__ == "__main__":
    main()
