"""A request body that stops before its end is refused whole, saying what is missing: a multipart
body without its closing boundary, a body shorter than its Content-Length, a gzip without its
trailer. Nothing of such a body reaches the pipeline (its last row is cut in two)."""

from __future__ import annotations

import base64
import gzip

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from contacts_import.api.requests import raw_body, read_form, read_import_request
from contacts_import.errors import IncompleteBody, InvalidOptions, TruncatedFile
from contacts_import.models import ImportOptions
from contacts_import.service.create_import import check_direct_body

BOUNDARY = "----cutoff42"
CSV = b"phone,name\r\n+14155552671,Ann Lee\r\n+12127365000,Bo Li\r\n"


def multipart(file_bytes: bytes, *, closed: bool = True) -> bytes:
    body = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="list_id"\r\n\r\nteam\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="c.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode() + file_bytes
    return body + f"\r\n--{BOUNDARY}--\r\n".encode() if closed else body


def event(body: bytes, content_type: str, **headers: str) -> APIGatewayProxyEvent:
    return APIGatewayProxyEvent(
        {
            "httpMethod": "POST",
            "path": "/imports",
            "headers": {"Content-Type": content_type, **headers},
            "body": base64.b64encode(body).decode(),
            "isBase64Encoded": True,
        }
    )


def test_a_complete_multipart_body_is_read() -> None:
    form = read_form(multipart(CSV), f"multipart/form-data; boundary={BOUNDARY}")
    assert form.file is not None and form.file.content == CSV
    assert form.fields == {"list_id": ["team"]}


@pytest.mark.parametrize("cut", [len(CSV) - 5, len(CSV), 3])  # in a row, after the last row, in the header
def test_a_multipart_body_without_its_closing_boundary_is_refused(cut: int) -> None:
    with pytest.raises(IncompleteBody, match="closing boundary") as refused:
        read_form(multipart(CSV[:cut], closed=False), f"multipart/form-data; boundary={BOUNDARY}")
    assert refused.value.code == "validation_error" and refused.value.status == 400
    assert refused.value.details == {"missing": "closing_boundary"}


def test_a_multipart_request_cut_off_is_refused_before_its_file_is_taken() -> None:
    body = multipart(CSV[:-5], closed=False)
    with pytest.raises(IncompleteBody):
        read_import_request(event(body, f"multipart/form-data; boundary={BOUNDARY}"))


def test_a_body_shorter_than_its_content_length_is_refused() -> None:
    with pytest.raises(IncompleteBody, match=f"after {len(CSV)} of the 4096 bytes") as refused:
        raw_body(event(CSV, "text/csv", **{"Content-Length": "4096"}))
    assert refused.value.details == {"missing": "bytes", "content_length": 4096, "received_bytes": len(CSV)}
    with pytest.raises(IncompleteBody):  # a header's name has any case
        read_import_request(event(CSV, "text/csv", **{"content-length": str(len(CSV) + 1)}))


def test_a_body_of_its_content_length_or_without_one_is_read() -> None:
    assert raw_body(event(CSV, "text/csv", **{"Content-Length": str(len(CSV))})) == CSV
    assert raw_body(event(CSV, "text/csv")) == CSV
    # The length of an encoded body, which a gateway may have decoded: not comparable.
    assert raw_body(event(CSV, "text/csv", **{"Content-Length": "4096", "Content-Encoding": "gzip"})) == CSV


def test_a_direct_gzip_without_its_trailer_is_a_400() -> None:
    whole = gzip.compress(CSV * 200)
    check_direct_body(whole, ImportOptions())
    for cut in (whole[:-8], whole[: len(whole) // 2]):
        with pytest.raises(TruncatedFile) as refused:
            check_direct_body(cut, ImportOptions())
        assert (refused.value.status, refused.value.api_code) == (400, "validation_error")
        assert refused.value.code == "truncated_file"


def test_incomplete_bodies_are_validation_errors() -> None:
    assert issubclass(IncompleteBody, InvalidOptions)
