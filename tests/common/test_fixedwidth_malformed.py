"""Malformed inputs: each gives its specific error naming file, record and field, and nothing
read is lost (read = accepted + rejected; a reject keeps its raw bytes and byte offset)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.common import fixedwidth as fw

FIX = Path(__file__).resolve().parents[2] / "fixtures"
RESULT = (FIX / "zengin_91_result" / "result_multi_crlf.dat").read_bytes()
REQUEST = (FIX / "zengin_91_request" / "request_noeol.dat").read_bytes()
TOKUCHO = (FIX / "tokucho_z21" / "Z2100001.dta").read_bytes()
L = 120


def crlf_records(b: bytes) -> list[bytes]:
    return [r for r in b.split(b"\r\n") if r]


def join_crlf(recs: list[bytes]) -> bytes:
    return b"".join(r + b"\r\n" for r in recs)


def plain_records(b: bytes) -> list[bytes]:
    return [b[i:i + L] for i in range(0, len(b), L)]


def put(rec: bytes, start: int, value: bytes) -> bytes:
    return rec[: start - 1] + value + rec[start - 1 + len(value):]


RES = fw.load_layout("zengin_91_result")
REQ = fw.load_layout("zengin_91_request")
TOK = fw.load_layout("tokucho_z21")


def refused(layout, data: bytes) -> fw.FileRefused:
    with pytest.raises(fw.FileRefused) as ei:
        fw.read(layout, data, source="IN.dat")
    e = ei.value
    assert str(e).startswith("ファイル IN.dat")
    return e


# --- whole-file refusals: (layout, bytes, reason fragment, record_no, field) ---------------------
R = crlf_records(RESULT)
Q = plain_records(REQUEST)

CASES = {
    "empty file": (RES, b"", "empty file", None, None),
    "truncated last record": (RES, RESULT[:-60], "truncated last record", len(R), None),
    "truncated, no line ends": (REQ, REQUEST[:-7], "truncated last record", len(Q), None),
    "wrong record length": (RES, join_crlf([R[0][:119]] + R[1:]), "wrong record length: 119 bytes", 1, None),
    "CR-only line ends": (RES, b"".join(r + b"\r" for r in R), "CR-only line end", 1, None),
    "LF-only line ends": (RES, b"".join(r + b"\n" for r in R), "LF-only line end", 1, None),
    "LF-only after the first record": (RES, R[0] + b"\r\n" + b"".join(r + b"\n" for r in R[1:]), "LF-only line end", 2, None),
    "UTF-8 BOM": (RES, b"\xef\xbb\xbf" + RESULT, "byte order mark", 1, None),
    "missing header": (REQ, b"".join(Q[1:]), "header record missing", 1, None),
    "missing trailer": (REQ, b"".join(Q[:-2] + Q[-1:]), "trailer record missing before the end record", len(Q) - 1, None),
    "missing end": (REQ, b"".join(Q[:-1]), "end record missing", len(Q) - 1, None),
    "duplicate header": (REQ, b"".join(Q[:1] + Q[:1] + Q[1:]), "duplicate header", 2, None),
    "second group in a single-group file": (REQ, b"".join(Q[:-1] + Q[:-1] + Q[-1:]), "second header in a single-group file", len(Q), None),
    "duplicate trailer": (REQ, b"".join(Q[:-1] + Q[-2:]), "duplicate trailer", len(Q), None),
    "record after end": (REQ, REQUEST + Q[1], "record after the end record", len(Q) + 1, None),
    "trailer count wrong": (REQ, b"".join(Q[:-2] + [put(Q[-2], 2, b"000005")] + Q[-1:]), "trailer total_count says 5, the file has 4", len(Q) - 1, "total_count"),
    "trailer sum wrong": (REQ, b"".join(Q[:-2] + [put(Q[-2], 8, b"000000000001")] + Q[-1:]), "trailer total_amount says 1, the file has 10000057999", len(Q) - 1, "total_amount"),
    "result trailer done count wrong": (RES, join_crlf(R[:5] + [put(R[5], 20, b"000002")] + R[6:]), "trailer done_count says 2, the file has 1", 6, "done_count"),
    "request trailer nonzero done count": (REQ, b"".join(Q[:-2] + [put(Q[-2], 20, b"000001")] + Q[-1:]), "trailer done_count says 1, the file has 0", len(Q) - 1, "done_count"),
    "non-digit in a header numeric field": (REQ, b"".join([put(Q[0], 5, b"11100X0001")] + Q[1:]), "non-digit", 1, "consignor_code"),
    "impossible date in the header": (REQ, b"".join([put(Q[0], 55, b"0231")] + Q[1:]), "impossible date", 1, "debit_date"),
    "lead-in record count wrong": (TOK, TOKUCHO[:48] + b"000009" + TOKUCHO[54:], "lead-in record_count says 9, the file has 5", 0, "record_count"),
    "truncated lead-in": (TOK, TOKUCHO[:50], "truncated lead-in", 0, None),
    "tokucho truncated record": (TOK, TOKUCHO[:-1], "truncated last record", 5, None),
}


@pytest.mark.parametrize("name", list(CASES))
def test_file_refused(name):
    layout, data, fragment, record_no, field = CASES[name]
    e = refused(layout, data)
    assert fragment in e.reason, e.reason
    assert e.record_no == record_no
    assert e.field == field


# --- single bad records: rejected alone, nothing lost ----------------------------------------------

def _reject_case(layout, records, index, start, value, sep=b"\r\n"):
    recs = list(records)
    data_before = sum(1 for r in recs if r[:1] == b"2")
    recs[index] = put(recs[index], start, value)
    data = b"".join(r + sep for r in recs)
    res = fw.read(layout, data, source="IN.dat")
    t = res.totals
    assert t["read"] == len(recs) == t["accepted"] + t["rejected"]
    assert t["rejected"] == 1 and res.rejects.height == 1
    rej = res.rejects.row(0, named=True)
    assert rej["record_no"] == index + 1
    assert rej["byte_offset"] == index * (layout.record_length + len(sep))
    assert rej["raw"] == recs[index]  # the raw bytes, untouched
    assert data[rej["byte_offset"]: rej["byte_offset"] + layout.record_length] == recs[index]
    assert res.frames["data"].height == data_before - 1
    return res, rej


def test_non_digit_amount_refuses_the_file_the_trailer_sum_cannot_be_verified():
    """Issue 13: a trailer that cannot be shown to agree with all records (accepted and rejected)
    refuses the file; the old rule rejected the record and only warned ("not verifiable")."""
    recs = list(R)
    recs[2] = put(recs[2], 81, b"00000A0000")
    e = refused(RES, join_crlf(recs))
    assert "cannot be verified" in e.reason and "record 3" in e.reason and e.field == "total_amount"


def test_rejected_record_with_a_readable_amount_counts_in_the_trailer_sum():
    """A record rejected for another field still has its amount in the trailer's sum: the trailer
    agrees with all records, the record alone is rejected (RC 4 at intake)."""
    res, rej = _reject_case(RES, R, 2, 51, b"yamada")
    assert rej["field"] == "account_holder" and res.warnings == []
    assert "0x79" in rej["reason"] and "field byte 1" in rej["reason"]


def test_utf8_bytes_in_a_cp932_field_are_rejected_naming_the_byte():
    from jobs.common.fixedwidth.fields import utf8_text
    assert utf8_text("ヤマダ　タロウ".encode("utf-8")) is not None
    assert utf8_text("ヤマダ".encode("utf-8")[:-1]) is not None  # cut at the field's end
    for genuine in ("山田太郎", "ヤマダ　タロウ", "さいたま市浦和区常盤６－４－４", "髙橋 﨑", "ABC 123"):
        assert utf8_text(genuine.encode("cp932")) is None, genuine
    assert utf8_text("é".encode("utf-8")) is None  # not Japanese: left to the cp932 decoder


def test_character_outside_charset_is_rejected():
    res, rej = _reject_case(RES, R, 1, 51, "ﾔﾏﾀﾞ ﾀﾛｳ ｧ".encode("cp932"))  # small kana is not a 全銀 character
    assert rej["field"] == "account_holder" and "character set" in rej["reason"]


def test_lowercase_outside_zengin_charset_is_rejected():
    res, rej = _reject_case(RES, R, 1, 51, b"yamada")
    assert rej["field"] == "account_holder"


def test_value_not_allowed_is_rejected():
    # 振替結果コード 5 is not defined; record 3 was 1 (振替不能), so the trailer's 振替済/不能 counts
    # and sums over all records still agree (a 0 made 5 would change them: the file is refused)
    res, rej = _reject_case(RES, R, 2, 112, b"5")
    assert rej["field"] == "result_code" and "not allowed" in rej["reason"]


def test_unknown_record_type_code_refuses_a_file_whose_trailer_sums_it():
    """Issue 13: a record of unknown type inside a group whose trailer holds sums leaves the sums
    unverifiable: the file is refused (it used to be rejected alone with a warning)."""
    recs = list(R)
    recs[2] = put(recs[2], 1, b"5")
    e = refused(RES, join_crlf(recs))
    assert "cannot be verified" in e.reason and "record 3" in e.reason


def test_blank_required_field_is_rejected():
    res, rej = _reject_case(RES, R, 1, 44, b"       ")
    assert rej["field"] == "account_number" and "blank" in rej["reason"]


def test_impossible_date_in_data_is_rejected():
    recs = [TOKUCHO[96 + i * 500: 96 + (i + 1) * 500] for i in range(5)]
    recs[1] = put(recs[1], 39, b"19550230")
    data = TOKUCHO[:96] + b"".join(recs)
    res = fw.read(TOK, data, source="Z2100001.dta")
    assert res.totals["rejected"] == 1
    rej = res.rejects.row(0, named=True)
    assert (rej["record_no"], rej["field"], rej["label"]) == (2, "birth_date", "生年月日")
    assert "impossible date" in rej["reason"] and rej["byte_offset"] == 96 + 500


def test_wrong_shift_sequence_is_rejected():
    recs = [TOKUCHO[96 + i * 500: 96 + (i + 1) * 500] for i in range(5)]
    recs[2] = put(recs[2], 73, b"\x1b$@")
    res = fw.read(TOK, TOKUCHO[:96] + b"".join(recs))
    assert res.rejects.row(0, named=True)["field"] == "shift1"


def test_reject_policy_refuse_refuses_the_file():
    import yaml

    doc = yaml.safe_load((Path(fw.layout.LAYOUT_DIR) / "zengin_91_request.yaml").read_text(encoding="utf-8"))
    doc["on_bad_record"] = "refuse"
    strict = fw.parse_layout(doc)
    bad = b"".join([Q[0], put(Q[1], 81, b"ABCDEFGHIJ")] + Q[2:])
    e = refused(strict, bad)
    assert e.record_no == 2 and e.field == "amount"


def test_header_fault_refuses_even_under_reject_policy():
    e = refused(RES, join_crlf([put(R[0], 2, b"92")] + R[1:]))
    assert e.field == "kind_code" and e.record_no == 1


def test_secret_fields_are_masked_in_rejects_and_dropped_by_default():
    doc = {
        "id": "secret_test", "record_length": 20, "structure": "D*", "charset": "halfwidth",
        "record_types": {"data": {"role": "D", "fields": [
            {"name": "person_id", "label": "宛名番号", "start": 1, "length": 8, "type": "digits"},
            {"name": "my_number", "label": "個人番号", "start": 9, "length": 12, "type": "digits", "secret": True},
        ]}},
    }
    lay = fw.parse_layout(doc)
    data = b"00000001123456789018" + b"0000000X123456789018"
    res = fw.read(lay, data)
    assert "my_number" not in res.frames["data"].columns
    raw = res.rejects["raw"][0]
    assert raw == b"0000000X" + b"*" * 12 and b"1234" not in raw
    kept = fw.read(lay, data, keep_secrets=True)
    assert kept.frames["data"]["my_number"].to_list() == ["123456789018"]


def test_encode_error_for_character_outside_the_charset():
    with pytest.raises(fw.EncodeError, match=r"account_holder.*outside charset zengin"):
        fw.write(REQ, {"header": {"consignor_code": "1", "consignor_name": "ｻｲﾀﾏｼ", "debit_date": "0630", "bank_code": "0001",
                                  "branch_code": "001", "code_division": "0"},
                       "data": [{"bank_code": "0001", "branch_code": "001", "account_type": "1", "account_number": "1",
                                 "account_holder": "山田 太郎", "amount": 1, "new_code": "0", "customer_number": "1"}]})


def test_encode_error_for_overflow_and_unknown_column():
    import polars as pl

    row = {"bank_code": "0001", "branch_code": "001", "account_type": "1", "account_number": "1",
           "account_holder": "ﾔﾏﾀﾞ", "amount": 10 ** 10, "new_code": "0", "customer_number": "1"}
    with pytest.raises(fw.EncodeError, match="amount.*does not fit 10"):
        fw.encode_records(REQ, REQ.data_type, pl.DataFrame([row]))
    with pytest.raises(fw.EncodeError, match=r"\['amout'\] are not fields"):
        fw.encode_records(REQ, REQ.data_type, pl.DataFrame([{**row, "amount": 1, "amout": 2}]))


def test_zengin_folding_on_write():
    import polars as pl

    row = {"bank_code": "0001", "branch_code": "001", "account_type": "1", "account_number": "1",
           "account_holder": "ヤマダ　ジュンコ", "amount": 1, "new_code": "0", "customer_number": "1"}
    block = fw.encode_records(REQ, REQ.data_type, pl.DataFrame([row]))
    assert block[0, 50:80].tobytes().decode("cp932").rstrip() == "ﾔﾏﾀﾞ ｼﾞﾕﾝｺ"  # small ュ becomes ﾕ
