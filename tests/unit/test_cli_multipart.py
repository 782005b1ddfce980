"""The client's pieces of a resumable upload (client/contacts_import_cli/multipart.py): the resume
record it keeps, the byte counts it reads, the ranges of a file it sends as parts."""

from __future__ import annotations

import argparse
import threading

import pytest

from contacts_import_cli import multipart
from contacts_import_cli.main import _byte_count
from contacts_import_cli.upload import FileChanged


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "contacts-import" / "uploads"


def test_a_resume_record_names_its_file_as_it_was_and_the_api(tmp_path, cache):
    path = tmp_path / "big.csv"
    path.write_bytes(b"phone\n" * 1000)
    record = multipart.ResumeRecord.of("imp_01", path, "http://127.0.0.1:3000")
    assert record.save() == cache / "imp_01.json"
    assert multipart.load_record("imp_01") == record
    assert multipart.record_for_file(path, "http://127.0.0.1:3000") == record
    assert multipart.record_for_file(path, "https://elsewhere") is None
    path.write_bytes(b"phone\n" * 1001)  # changed since: not the same file
    assert not record.matches(path)
    assert multipart.record_for_file(path, "http://127.0.0.1:3000") is None
    record.forget()
    assert multipart.load_record("imp_01") is None


def test_a_damaged_record_is_no_record(cache):
    cache.mkdir(parents=True)
    (cache / "imp_02.json").write_text("{not json")
    assert multipart.load_record("imp_02") is None


def test_a_part_is_its_range_of_the_file_read_a_mib_at_a_time(tmp_path):
    path = tmp_path / "f.bin"
    data = bytes(range(256)) * 10_000
    path.write_bytes(data)
    counted: list[int] = []
    part = multipart.FileRange(path, 1000, 2_000_000, counted.append, threading.Event(), multipart.RateLimit(None))
    assert len(part) == 2_000_000
    assert b"".join(part) == data[1000:2_001_000]
    assert max(counted) <= 1024 * 1024 and sum(counted) == 2_000_000


def test_a_part_past_the_files_end_is_refused_rather_than_sent_short(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 100)
    part = multipart.FileRange(path, 50, 100, lambda n: None, threading.Event(), multipart.RateLimit(None))
    with pytest.raises(FileChanged):
        b"".join(part)


def test_a_stopped_upload_ends_its_parts_between_chunks(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 100)
    stop = threading.Event()
    stop.set()
    with pytest.raises(multipart.Interrupted):
        b"".join(multipart.FileRange(path, 0, 100, lambda n: None, stop, multipart.RateLimit(None)))


@pytest.mark.parametrize(("text", "count"), [("100", 100), ("4M", 4 * 1024**2), ("1.5k", 1536), ("2G", 2 * 1024**3)])
def test_limit_rate_reads_byte_counts_as_curl_does(text, count):
    assert _byte_count(text) == count


@pytest.mark.parametrize("text", ["", "fast", "0", "-1M"])
def test_limit_rate_refuses_what_is_not_a_byte_count(text):
    with pytest.raises(argparse.ArgumentTypeError):
        _byte_count(text)
