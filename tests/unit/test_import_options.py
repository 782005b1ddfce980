"""Options accept exactly what the OpenAPI document says (api.docs), ids are matched whole, and the
smaller guards of names and reports hold."""

from __future__ import annotations

import pytest

from contacts_import.api.requests import file_name_member
from contacts_import.errors import InvalidOptions
from contacts_import.models import ENCODINGS, ImportOptions
from contacts_import.object_keys import InvalidObjectKey, parse_object_key, safe_file_name
from contacts_import.service import notifications
from contacts_import.service.notifications import WebhookRefused, check_webhook_url
from contacts_import.service.reports import spreadsheet_safe


def refused(raw: dict, **text) -> bool:
    try:
        ImportOptions.parse(raw, text=text)
    except InvalidOptions:
        return True
    return False


@pytest.mark.parametrize("list_id", ["tour\n", "tour\r\n", "", "-x", "a" * 129, "with space"])
def test_a_list_id_is_matched_whole(list_id):
    # Before: a pattern anchored with "$" took "tour\n".
    assert refused({"list_id": list_id}) and refused({}, list_id=list_id)
    assert ImportOptions.parse({"list_id": "tour"}).list_id == "tour"


@pytest.mark.parametrize(
    "key",
    ["drop/acme\n/list/file.csv", "drop/acme/list\n/file.csv", "uploads/acme/imp_0123456789abcdefghijklmnop\n/f.csv"],
)
def test_object_keys_with_a_trailing_newline_in_an_id_are_refused(key):
    with pytest.raises(InvalidObjectKey):
        parse_object_key(key)


def test_json_booleans_are_booleans_and_query_words_are_read():
    assert refused({"wait": 0}) and refused({"dry_run": "true"}) and refused({"has_header": None})
    assert ImportOptions.parse({}, text={"wait": "true", "dry_run": "0"}).wait is True
    assert refused({}, has_header="") and refused({}, wait="yes please")
    assert ImportOptions.parse({"update_existing": True}).on_existing == "update"
    assert refused({"update_existing": 1})


def test_regions_encodings_and_delimiters_come_from_their_lists():
    assert refused({"default_region": ""}) and refused({"default_region": " US"}) and refused({"default_region": "ZZ"})
    assert ImportOptions.parse({"default_region": "de"}).default_region == "DE"
    assert refused({"encoding": "klingon"}) and ImportOptions.parse({"encoding": "UTF-8"}).encoding == "utf-8"
    assert ImportOptions.parse({}, text={"delimiter": "", "encoding": ""}).delimiter is None
    assert ImportOptions.parse({"delimiter": "tab"}).delimiter == "\t"
    assert refused({"delimiter": '"'}) and refused({"delimiter": ""})


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_encoding_reads_back_as_a_job_stores_it(encoding):
    # Before: latin-1, iso-8859-*, euc-jp and euc-kr were stored by their codec's name (euc_kr),
    # which the processor's own reading of the job then refused, so the import never started.
    options = ImportOptions.parse({"encoding": encoding})
    assert ImportOptions.model_validate(options.model_dump(mode="json")) == options


def test_one_option_under_two_names_is_taken_when_they_agree():
    assert ImportOptions.parse({"update_existing": False}, text={"on_existing": "skip"}).on_existing == "skip"
    assert ImportOptions.parse({"folder_id": "a", "list_id": "a"}).list_id == "a"
    assert refused({"update_existing": True}, on_existing="skip") and refused({"folder_id": "a", "list_id": "b"})


@pytest.mark.parametrize("none", ["", [], None])
def test_headers_that_name_no_column_are_no_headers_option(none):
    assert ImportOptions.parse({"headers": none}).headers is None
    assert ImportOptions.parse({}, text={"headers": ""}).headers is None


def test_tags_are_measured_as_sent():
    assert refused({"tags": [" " + "x" * 100]})  # 101 characters, whatever stripping would leave
    assert refused({"tags": ["t"] * 51}) and refused({"tags": [1]})
    assert ImportOptions.parse({}, text={"tags": "vip, 2024,,vip"}).tags == ("vip", "2024")


def test_mapping_targets_and_columns():
    assert refused({"mapping": {"": "phone"}}), "a column is never named by an empty string"
    assert refused({"mapping": '{"Mobile": "phone"}'}), "a JSON member is an object, not a JSON string"
    assert ImportOptions.parse({}, text={"mapping": '{"Mobile": "phone"}'}).mapping == {"Mobile": "phone"}
    assert refused({"mapping": {"a": "nickname_x"}})


def test_an_empty_webhook_url_is_none_in_a_query_and_refused_in_json():
    assert ImportOptions.parse({}, text={"webhook_url": ""}).webhook_url is None
    assert refused({"webhook_url": ""})


def test_a_webhook_url_is_https_to_a_name(monkeypatch):
    # What creating an import checks (names resolved by a stub: none resolves, which is no refusal).
    def unresolvable(host: str, port: int) -> list[str]:
        raise WebhookRefused("does not resolve")

    monkeypatch.setattr(notifications, "resolve", unresolvable)
    assert check_webhook_url("https://hooks.example.com/x?y=1", allow_loopback=False, unresolved=True) is None
    for url in (
        "http://hooks.example.com/x",
        "https://10.0.0.1/",
        "https://0",
        "https://a.b:8443/",
        "https://h.example.com x",
    ):
        with pytest.raises(WebhookRefused):
            check_webhook_url(url, allow_loopback=False, unresolved=True)


@pytest.mark.parametrize("name", ["${filename}", "a${filename}.csv", "x${fil${filename}ename}.csv", "${FILENAME}"])
def test_a_file_name_never_carries_a_post_variable(name):
    # In a presigned POST's key S3 puts the uploader's name for ${filename}, and boto3 turns the
    # exact key into a prefix condition: the name loses it.
    assert "${" not in safe_file_name(name)


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "\x00=1+1"])
def test_cells_that_start_a_formula_are_quoted_nul_included(cell):
    assert spreadsheet_safe(cell) == "'" + cell
    assert spreadsheet_safe("Ann") == "Ann"


@pytest.mark.parametrize("value", [{}, 3, ["a.csv"], True])
def test_a_file_name_member_is_a_string(value):
    with pytest.raises(InvalidOptions):
        file_name_member({"file_name": value})
    assert file_name_member({"file_name": None}) == file_name_member({}) == "contacts.csv"
