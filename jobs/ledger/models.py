"""SQLAlchemy 2 models of the 収納 ledger: the seed's 別添2 「(2)国民健康保険(徴収)」 items.

| table | seed item group |
|---|---|
| ``notice`` | 通知書情報 (1–17) |
| ``installment`` | 期別情報 (18–70) |
| ``payment`` | 納付履歴情報 (71–101) |
| ``refund`` / ``refund_offset`` | 還付 (102–181; 充当元先 … 108–110 are ``refund_offset``) |
| ``levy_history`` | 調定履歴情報 (182–217) |
| ``card_applicant`` | クレジットカード納付申込者 (218–250) |
| ``write_off`` | 不納欠損情報 (251–273) |
| ``reconciliation`` | 消込データ情報 (274–311): every payment record read, matched or not |

and the project's own: ``posted_file`` (one row per input file posted, by SHA-256: the file-level
idempotency key), ``debit_mandate`` / ``debit_request`` (口座振替), ``schema_migrations``.

Every table carries 操作者ID / 操作年月日 / 操作時刻 (``operator_id``, ``operated_date``,
``operated_time``) as the seed lists; batch steps write their job id as the operator. Column
``info["label"]`` holds the Japanese item name. Money is BIGINT yen. The 個人番号 is never stored
(the ledger knows people by 宛名番号 ``person_id``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Date, Integer, MetaData, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

metadata = MetaData()


class Base(DeclarativeBase):
    metadata = metadata


def col(label: str, type_=None, *, pk: bool = False, nullable: bool = True, default=None, **kw):
    args = (type_,) if type_ is not None else ()
    if pk:
        kw.setdefault("autoincrement", False)  # natural keys only (DuckDB has no SERIAL)
    if isinstance(default, bool):
        kw.setdefault("server_default", text("true" if default else "false"))
    elif isinstance(default, int):
        kw.setdefault("server_default", text(str(default)))
    return mapped_column(*args, primary_key=pk, nullable=nullable and not pk, default=default,
                         info={"label": label}, **kw)


def money(label: str):
    return mapped_column(BigInteger, nullable=False, default=0, server_default=text("0"), info={"label": label})


class Audit:
    """操作者ID・操作年月日・操作時刻 and 削除フラグ, on every table."""

    deleted: Mapped[bool] = col("削除フラグ", Boolean, nullable=False, default=False)
    operator_id: Mapped[str] = col("操作者ID", String(16), nullable=False)
    operated_date: Mapped[dt.date] = col("操作年月日", Date, nullable=False)
    operated_time: Mapped[str] = col("操作時刻", String(6), nullable=False)  # HHMMSS
    # migration 002: the run that wrote the row ("<job id> <run id>"); NULL on rows written before
    operation_reason: Mapped[str | None] = col("処理事由", String(100), nullable=True)


class InstallmentKey:
    """The key of an installment (期別): 市区町村コード, 賦課年度, 対象年度, 通知書番号, 期別."""

    municipality_code: Mapped[str] = col("市区町村コード", String(6), nullable=False)
    levy_year: Mapped[int] = col("賦課年度", Integer, nullable=False)
    target_year: Mapped[int] = col("対象年度", Integer, nullable=False)
    notice_number: Mapped[str] = col("通知書番号", String(11), nullable=False)
    installment_no: Mapped[int] = col("期別", Integer, nullable=False)


class InstallmentPK:
    """The same key as the primary key of a table with one row per 期別."""

    municipality_code: Mapped[str] = col("市区町村コード", String(6), pk=True)
    levy_year: Mapped[int] = col("賦課年度", Integer, pk=True)
    target_year: Mapped[int] = col("対象年度", Integer, pk=True)
    notice_number: Mapped[str] = col("通知書番号", String(11), pk=True)
    installment_no: Mapped[int] = col("期別", Integer, pk=True)


class Notice(Audit, Base):
    __tablename__ = "notice"
    __table_args__ = {"info": {"label": "通知書情報"}}

    municipality_code: Mapped[str] = col("市区町村コード", String(6), pk=True)
    levy_year: Mapped[int] = col("賦課年度", Integer, pk=True)
    target_year: Mapped[int] = col("対象年度", Integer, pk=True)
    notice_number: Mapped[str] = col("通知書番号", String(11), pk=True)
    business_code: Mapped[str] = col("国保業務詳細コード", String(4), nullable=False)
    latest_flag: Mapped[bool] = col("最新フラグ", Boolean, nullable=False, default=True)
    person_id: Mapped[str] = col("宛名番号", String(10), nullable=False)
    household_id: Mapped[str] = col("世帯番号", String(10), nullable=False)
    collection_method: Mapped[str] = col("徴収方法区分", String(1), nullable=False)
    statutory_due_date: Mapped[dt.date | None] = col("法定納期限", Date)
    previous_due_date: Mapped[dt.date | None] = col("変更前納期限", Date)
    write_off_date: Mapped[dt.date | None] = col("欠損年月日", Date)
    insured_symbol_number: Mapped[str | None] = col("国保記号番号", String(20))


class Installment(InstallmentPK, Audit, Base):
    __tablename__ = "installment"
    __table_args__ = {"info": {"label": "期別情報"}}

    business_code: Mapped[str] = col("国保業務詳細コード", String(4), nullable=False)
    collection_method: Mapped[str] = col("徴収方法区分", String(1), nullable=False)
    latest_flag: Mapped[bool] = col("最新フラグ", Boolean, nullable=False, default=True)
    person_id: Mapped[str] = col("宛名番号", String(10), nullable=False)
    household_id: Mapped[str] = col("世帯番号", String(10), nullable=False)
    due_date: Mapped[dt.date] = col("期別納期限", Date, nullable=False)
    changed_due_date: Mapped[dt.date | None] = col("変更納期限", Date)
    statutory_due_date: Mapped[dt.date | None] = col("法定納期限", Date)
    assessed_correction_date: Mapped[dt.date | None] = col("課税課更正日", Date)
    correction_seq: Mapped[int] = col("更正順番", Integer, nullable=False, default=0)
    levy_amount: Mapped[int] = money("期別税(料)額")
    late_fee_amount: Mapped[int] = money("期別延滞金額")
    dunning_fee_amount: Mapped[int] = money("期別督促手数料")
    medical_general: Mapped[int] = money("期別医療一般分")
    medical_retired: Mapped[int] = money("期別医療退職分")
    care_general: Mapped[int] = money("期別介護一般分")
    care_retired: Mapped[int] = money("期別介護退職分")
    support_general: Mapped[int] = money("期別支援一般分")
    support_retired: Mapped[int] = money("期別支援退職分")
    child_general: Mapped[int] = money("期別子ども・子育て支援金分")
    payer_code: Mapped[str | None] = col("特別徴収義務者コード", String(3))
    # 収納の累計 (the sum of this installment's 納付履歴 本税, kept with every posting)
    paid_amount: Mapped[int] = money("累計収納額")
    # 速報 (CVS) amounts not yet confirmed: they hold back 督促
    provisional_amount: Mapped[int] = money("速報額")
    last_paid_date: Mapped[dt.date | None] = col("最終領収日", Date)
    last_received_date: Mapped[dt.date | None] = col("最終収入日", Date)
    dunning_issued_date: Mapped[dt.date | None] = col("督促状発行日", Date)
    dunning_stopped_date: Mapped[dt.date | None] = col("督促状停止日", Date)
    dunning_returned_date: Mapped[dt.date | None] = col("督促状返戻日", Date)
    dunning_public_notice_date: Mapped[dt.date | None] = col("督促状公示日", Date)
    reminder_stopped_date: Mapped[dt.date | None] = col("催告状停止日", Date)
    notice_returned_date: Mapped[dt.date | None] = col("納税通知書返戻日", Date)
    notice_public_date: Mapped[dt.date | None] = col("納税通知書公示日", Date)
    write_off_date: Mapped[dt.date | None] = col("不納欠損年月日", Date)
    write_off_amount: Mapped[int] = money("不納欠損額")
    carried_year: Mapped[int | None] = col("繰越年度", Integer)
    carried_date: Mapped[dt.date | None] = col("繰越年月日", Date)
    carried_tax_amount: Mapped[int] = money("決算繰越本税額")
    carried_medical_general: Mapped[int] = money("繰越調定額医療一般分")
    carried_medical_retired: Mapped[int] = money("繰越調定額医療退職分")
    carried_care_general: Mapped[int] = money("繰越調定額介護一般分")
    carried_care_retired: Mapped[int] = money("繰越調定額介護退職分")
    carried_support_general: Mapped[int] = money("繰越調定額支援一般分")
    carried_support_retired: Mapped[int] = money("繰越調定額支援退職分")
    carried_levy_set_date: Mapped[dt.date | None] = col("決算繰越調定額設定日", Date)
    correction_filed_date: Mapped[dt.date | None] = col("更正届出年月日", Date)
    insured_symbol_number: Mapped[str | None] = col("国保記号番号", String(20))
    collection_ward_code: Mapped[str | None] = col("収納区コード", String(4))
    notice_issued_date: Mapped[dt.date | None] = col("通知書発送日", Date)
    limitation_date: Mapped[dt.date | None] = col("時効予定日", Date)
    notice_sent_date: Mapped[dt.date | None] = col("納通発送年月日", Date)
    overpayment_cause: Mapped[str | None] = col("過誤納金発生事由コード", String(2))


class Payment(InstallmentKey, Audit, Base):
    """納付履歴: one row per amount booked to an installment (収納, 還付 out, 充当 out/in)."""

    __tablename__ = "payment"
    __table_args__ = {"info": {"label": "納付履歴情報"}}

    source_sha256: Mapped[str] = col("入力ファイルSHA-256", String(64), pk=True)
    record_no: Mapped[int] = col("レコード番号", BigInteger, pk=True)
    line_no: Mapped[int] = col("明細番号", Integer, pk=True)
    business_code: Mapped[str] = col("国保業務詳細コード", String(4), nullable=False)
    collection_method: Mapped[str] = col("徴収方法区分", String(1), nullable=False)
    latest_flag: Mapped[bool] = col("最新フラグ", Boolean, nullable=False, default=True)
    # 還付充当区分: 0 収納, 1 還付, 2 充当元 (out), 3 充当先 (in)
    refund_offset_kind: Mapped[str] = col("還付充当区分", String(1), nullable=False)
    # 出納区分: 1 収入, 2 戻出 (refund / offset out)
    cash_kind: Mapped[str] = col("出納区分", String(1), nullable=False)
    tax_amount: Mapped[int] = money("本税収入額")
    late_fee_amount: Mapped[int] = money("延滞金収入額")
    dunning_fee_amount: Mapped[int] = money("督促手数料収入額")
    received_date: Mapped[dt.date | None] = col("収入日", Date)
    paid_date: Mapped[dt.date | None] = col("領収日", Date)
    payment_kind: Mapped[str] = col("納付区分", String(2), nullable=False)
    channel: Mapped[str] = col("納付チャネル", String(8), nullable=False)
    bank_code: Mapped[str | None] = col("金融機関コード", String(4))
    branch_code: Mapped[str | None] = col("店舗番号", String(3))
    cvs_store_code: Mapped[str | None] = col("収納コンビニ店舗コード", String(7))
    agent_code: Mapped[str | None] = col("収納コンビニ支店コード(本部コード)", String(4))
    account_type: Mapped[str | None] = col("口座種別コード", String(1))
    account_number: Mapped[str | None] = col("口座番号", String(7))
    account_holder_kana: Mapped[str | None] = col("口座名義人 カナ", String(30))
    account_holder_kanji: Mapped[str | None] = col("口座名義人 漢字", String(60))
    japan_post_symbol: Mapped[str | None] = col("ゆうちょ銀行記号", String(5))
    japan_post_number: Mapped[str | None] = col("ゆうちょ銀行番号", String(8))
    bank_kind: Mapped[str | None] = col("金融機関種別", String(1))
    arrears_key_1: Mapped[str | None] = col("滞納消込特定キー情報1", String(40))
    arrears_key_2: Mapped[str | None] = col("滞納消込特定キー情報2", String(40))
    prepayment_reward: Mapped[int] = money("前納報奨金")
    job_id: Mapped[str] = col("ジョブID", String(8), nullable=False)
    generation: Mapped[str] = col("世代", String(32), nullable=False)


class LevyHistory(InstallmentKey, Audit, Base):
    __tablename__ = "levy_history"
    __table_args__ = {"info": {"label": "調定履歴情報"}}

    source_sha256: Mapped[str] = col("入力ファイルSHA-256", String(64), pk=True)
    record_no: Mapped[int] = col("レコード番号", BigInteger, pk=True)
    business_code: Mapped[str] = col("国保業務詳細コード", String(4), nullable=False)
    collection_method: Mapped[str] = col("徴収方法区分", String(1), nullable=False)
    latest_flag: Mapped[bool] = col("最新フラグ", Boolean, nullable=False, default=True)
    levy_kind: Mapped[str] = col("調定区分", String(1), nullable=False)  # 1 当初 2 更正
    correction_seq: Mapped[int] = col("更正順番", Integer, nullable=False)
    correction_date: Mapped[dt.date] = col("更正年月日", Date, nullable=False)
    person_id: Mapped[str] = col("宛名番号", String(10), nullable=False)
    due_date: Mapped[dt.date] = col("納期限", Date, nullable=False)
    levy_amount: Mapped[int] = money("期別税(料)額")
    change_amount: Mapped[int] = money("増減額")
    medical_general: Mapped[int] = money("期別医療一般分")
    medical_retired: Mapped[int] = money("期別医療退職分")
    care_general: Mapped[int] = money("期別介護一般分")
    care_retired: Mapped[int] = money("期別介護退職分")
    support_general: Mapped[int] = money("期別支援一般分")
    support_retired: Mapped[int] = money("期別支援退職分")
    child_general: Mapped[int] = money("期別子ども・子育て支援金分")
    correction_content: Mapped[str | None] = col("更正内容", String(2))
    correction_filed_date: Mapped[dt.date | None] = col("更正届出年月日", Date)
    statutory_due_date: Mapped[dt.date | None] = col("法定納期限", Date)
    overpayment_cause: Mapped[str | None] = col("過誤納金発生事由コード", String(2))
    carried_tax_amount: Mapped[int] = money("繰越期別税(料)額")
    job_id: Mapped[str] = col("ジョブID", String(8), nullable=False)


class Refund(Audit, Base):
    """還付: one row per refund decided (還付決議), with its 還付加算金 and account."""

    __tablename__ = "refund"
    __table_args__ = {"info": {"label": "還付情報"}}

    refund_id: Mapped[str] = col("還付処理番号", String(20), pk=True)
    municipality_code: Mapped[str] = col("市区町村コード", String(6), nullable=False)
    person_id: Mapped[str] = col("還付先 宛名番号", String(10), nullable=False)
    cause_code: Mapped[str] = col("還付発生事由", String(2), nullable=False)
    occurred_date: Mapped[dt.date] = col("還付発生年月日", Date, nullable=False)
    amount: Mapped[int] = money("還付発生納付額")
    interest: Mapped[int] = money("還付加算金")
    interest_start_date: Mapped[dt.date | None] = col("加算金起算日", Date)
    decision_date: Mapped[dt.date] = col("還付決議年月日", Date, nullable=False)
    payment_decision_date: Mapped[dt.date | None] = col("支払決議年月日", Date)
    payment_date: Mapped[dt.date | None] = col("支払日", Date)
    limitation_date: Mapped[dt.date | None] = col("還付時効年月日", Date)
    status: Mapped[str] = col("還付処理状態コード", String(1), nullable=False)  # 1 決議 2 振込依頼 3 支払済 9 取消
    method: Mapped[str] = col("還付先区分コード", String(1), nullable=False)  # 1 口座 2 窓口
    bank_code: Mapped[str | None] = col("還付口座金融機関コード", String(4))
    branch_code: Mapped[str | None] = col("還付口座店舗番号", String(3))
    account_type: Mapped[str | None] = col("還付口座種別コード", String(1))
    account_number: Mapped[str | None] = col("還付口座番号", String(7))
    account_holder_kana: Mapped[str | None] = col("還付口座名義人 カナ", String(30))
    transfer_file: Mapped[str | None] = col("振込ファイル", String(120))
    late_fee_amount: Mapped[int] = money("還付発生延滞金")
    dunning_fee_amount: Mapped[int] = money("還付発生督促料")
    first_notice_date: Mapped[dt.date | None] = col("初回通知発行年月日", Date)
    reissue_date: Mapped[dt.date | None] = col("再発行年月日", Date)
    payment_route_code: Mapped[str | None] = col("払込区分コード", String(2))
    claim_date: Mapped[dt.date | None] = col("還付請求年月日", Date)
    requested_flag: Mapped[bool] = col("申出フラグ", Boolean, nullable=False, default=False)
    fiscal_kind: Mapped[str | None] = col("歳償区分", String(1))  # 歳出還付 / 歳入戻出
    carried_unpaid_amount: Mapped[int] = money("繰越還付未済納付額")
    account_holder_kanji: Mapped[str | None] = col("還付口座名義人 漢字", String(60))
    japan_post_symbol: Mapped[str | None] = col("還付口座 ゆうちょ銀行記号", String(5))
    japan_post_number: Mapped[str | None] = col("還付口座 ゆうちょ銀行番号", String(8))
    bank_kind: Mapped[str | None] = col("還付口座 金融機関種別", String(1))
    public_account_kind: Mapped[str | None] = col("公金口座区分", String(1))  # 公金受取口座
    note: Mapped[str | None] = col("備考", String(200))
    job_id: Mapped[str] = col("ジョブID", String(8), nullable=False)


class RefundOffset(Audit, Base):
    """還付・充当 lines: which installment's 過誤納 went to which refund or 充当先."""

    __tablename__ = "refund_offset"
    __table_args__ = {"info": {"label": "還付充当明細"}}

    decision_id: Mapped[str] = col("還付充当決議番号", String(20), pk=True)
    line_no: Mapped[int] = col("明細番号", Integer, pk=True)
    kind: Mapped[str] = col("還付充当区分", String(1), nullable=False)  # 1 還付 2 充当
    municipality_code: Mapped[str] = col("市区町村コード", String(6), nullable=False)
    person_id: Mapped[str] = col("宛名番号", String(10), nullable=False)
    from_levy_year: Mapped[int] = col("充当元 賦課年度", Integer, nullable=False)
    from_notice_number: Mapped[str] = col("充当元 通知書番号", String(11), nullable=False)
    from_installment_no: Mapped[int] = col("充当元 期別", Integer, nullable=False)
    to_levy_year: Mapped[int | None] = col("充当先 賦課年度", Integer)
    to_notice_number: Mapped[str | None] = col("充当先 通知書番号", String(11))
    to_installment_no: Mapped[int | None] = col("充当先 期別", Integer)
    refund_id: Mapped[str | None] = col("還付処理番号", String(20))
    amount: Mapped[int] = money("充当済納付額・還付額")
    interest: Mapped[int] = money("還付加算金")
    cause_code: Mapped[str] = col("過誤納金発生事由コード", String(2), nullable=False)
    decision_date: Mapped[dt.date] = col("決議年月日", Date, nullable=False)
    job_id: Mapped[str] = col("ジョブID", String(8), nullable=False)


class WriteOff(InstallmentPK, Audit, Base):
    __tablename__ = "write_off"
    __table_args__ = {"info": {"label": "不納欠損情報"}}

    business_code: Mapped[str] = col("国保業務詳細コード", String(4), nullable=False)
    collection_method: Mapped[str] = col("徴収方法区分", String(1), nullable=False)
    latest_flag: Mapped[bool] = col("最新フラグ", Boolean, nullable=False, default=True)
    write_off_kind: Mapped[str] = col("不納欠損区分", String(2), nullable=False)
    tax_amount: Mapped[int] = money("不納欠損金額 保険料(税)")
    late_fee_amount: Mapped[int] = money("不納欠損金額 延滞金")
    dunning_fee_amount: Mapped[int] = money("不納欠損金額 督促手数料")
    file_number: Mapped[str | None] = col("整理番号", String(20))
    drafted_date: Mapped[dt.date | None] = col("起案年月日", Date)
    approved_date: Mapped[dt.date | None] = col("決裁年月日", Date)
    cancelled_date: Mapped[dt.date | None] = col("取消年月日", Date)
    note: Mapped[str | None] = col("備考", String(200))
    cancel_reason: Mapped[str | None] = col("取消事由", String(200))


class CardApplicant(Audit, Base):
    __tablename__ = "card_applicant"
    __table_args__ = {"info": {"label": "クレジットカード納付申込者"}}

    municipality_code: Mapped[str] = col("市区町村コード", String(6), pk=True)
    person_id: Mapped[str] = col("宛名番号", String(10), pk=True)
    history_no: Mapped[int] = col("クレジットカード履歴番号", Integer, pk=True)
    latest_flag: Mapped[bool] = col("最新フラグ", Boolean, nullable=False, default=True)
    applicant_name: Mapped[str | None] = col("申込者氏名(名称)", String(100))
    applicant_kana: Mapped[str | None] = col("申込者氏名(名称)フリガナ", String(100))
    applicant_postal_code: Mapped[str | None] = col("申込者住所(所在地)郵便", String(7))
    applicant_address: Mapped[str | None] = col("申込者住所(所在地)", String(200))
    applicant_city_code: Mapped[str | None] = col("申込者住所(所在地)市区町村コード", String(6))
    applicant_town_code: Mapped[str | None] = col("申込者住所(所在地)町字コード", String(7))
    applicant_block: Mapped[str | None] = col("申込者住所(所在地)番地", String(100))
    applicant_building: Mapped[str | None] = col("申込者住所(所在地)方書", String(100))
    applicant_phone: Mapped[str | None] = col("申込者電話番号", String(20))
    contractor_name: Mapped[str | None] = col("契約者氏名(名称)", String(100))
    contractor_kana: Mapped[str | None] = col("契約者氏名(名称)フリガナ", String(100))
    contractor_postal_code: Mapped[str | None] = col("契約者住所(所在地)郵便", String(7))
    contractor_address: Mapped[str | None] = col("契約者住所(所在地)", String(200))
    contractor_phone: Mapped[str | None] = col("契約者電話番号", String(20))


class Reconciliation(Audit, Base):
    """消込データ: every payment record read from any channel, with what became of it.

    ``status``: posted 消込済 | provisional 速報 | confirmed 速報→確報済 | cancelled 速報取消済 |
    lapsed 速報失効 | debit_failed 振替不能 | unmatched 調定なし (保留: posted when the 調定 arrives) |
    error 消込エラー | duplicate 重複.
    """

    __tablename__ = "reconciliation"
    __table_args__ = {"info": {"label": "消込データ情報"}}

    source_sha256: Mapped[str] = col("入力ファイルSHA-256", String(64), pk=True)
    record_no: Mapped[int] = col("レコード番号", BigInteger, pk=True)
    municipality_code: Mapped[str] = col("市区町村コード", String(6), nullable=False)
    business_code: Mapped[str] = col("国保業務詳細コード", String(4), nullable=False)
    collection_method: Mapped[str | None] = col("徴収方法区分", String(1))
    levy_year: Mapped[int | None] = col("賦課年度", Integer)
    target_year: Mapped[int | None] = col("対象年度", Integer)
    notice_number: Mapped[str | None] = col("通知書番号", String(11))
    installment_no: Mapped[int | None] = col("期別", Integer)
    latest_flag: Mapped[bool] = col("最新フラグ", Boolean, nullable=False, default=True)
    levy_amount: Mapped[int | None] = col("調定額", BigInteger)
    amount: Mapped[int] = money("納付額")
    late_fee_amount: Mapped[int] = money("延滞金")
    dunning_fee_amount: Mapped[int] = money("督促手数料")
    paid_date: Mapped[dt.date | None] = col("領収年月日", Date)
    received_date: Mapped[dt.date | None] = col("収入年月日", Date)
    payment_kind: Mapped[str] = col("納付区分", String(2), nullable=False)
    channel: Mapped[str] = col("納付チャネル", String(8), nullable=False)
    kind: Mapped[str] = col("データ識別", String(16), nullable=False)
    bank_code: Mapped[str | None] = col("金融機関コード", String(4))
    branch_code: Mapped[str | None] = col("店舗番号", String(3))
    cvs_store_code: Mapped[str | None] = col("収納コンビニ店舗コード", String(7))
    agent_code: Mapped[str | None] = col("収納代行会社企業コード(本部コード)", String(4))
    barcode: Mapped[str | None] = col("バーコード情報", String(44))
    result_code: Mapped[str | None] = col("振替結果コード", String(1))
    slip_kind: Mapped[str | None] = col("納付書種別", String(2))
    collection_agency_no: Mapped[str | None] = col("収納機関番号", String(5))
    payment_number: Mapped[str | None] = col("納付番号", String(20))
    confirmation_number: Mapped[str | None] = col("確認番号", String(6))
    serial_number: Mapped[str | None] = col("通し番号", String(20))
    installment_count: Mapped[int | None] = col("分納回数", Integer)
    tax_union_code: Mapped[str | None] = col("納税組合コード", String(6))
    store_time: Mapped[str | None] = col("収納時間", String(4))
    scheduled_payment_date: Mapped[dt.date | None] = col("支払予定日", Date)
    retailer_code: Mapped[str | None] = col("小売業企業コード", String(6))
    local_government_code: Mapped[str | None] = col("地方公共団体コード", String(6))
    management_number: Mapped[str | None] = col("管理番号", String(20))
    dedup_key: Mapped[str] = col("重複判定キー", String(120), nullable=False)
    status: Mapped[str] = col("消込状態", String(16), nullable=False)
    reason: Mapped[str | None] = col("エラー理由", String(200))
    source_file: Mapped[str] = col("入力ファイル名", String(200), nullable=False)
    byte_offset: Mapped[int] = col("バイト位置", BigInteger, nullable=False)
    raw_hex: Mapped[str | None] = col("レコード原データ(16進)", String(600))
    business_date: Mapped[dt.date] = col("処理日", Date, nullable=False)
    resolved_date: Mapped[dt.date | None] = col("解消日", Date)
    job_id: Mapped[str] = col("ジョブID", String(8), nullable=False)
    generation: Mapped[str] = col("世代", String(32), nullable=False)


class PostedFile(Audit, Base):
    """Every input file posted to the ledger, by content: the same bytes are never posted twice."""

    __tablename__ = "posted_file"
    __table_args__ = {"info": {"label": "取込済ファイル"}}

    source_sha256: Mapped[str] = col("SHA-256", String(64), pk=True)
    municipality_code: Mapped[str] = col("市区町村コード", String(6), nullable=False)
    file_name: Mapped[str] = col("ファイル名", String(200), nullable=False)
    channel: Mapped[str] = col("区分", String(8), nullable=False)
    job_id: Mapped[str] = col("ジョブID", String(8), nullable=False)
    generation: Mapped[str] = col("世代", String(32), nullable=False)
    business_date: Mapped[dt.date] = col("処理日", Date, nullable=False)
    records: Mapped[int] = col("レコード件数", BigInteger, nullable=False)
    amount: Mapped[int] = money("金額合計")


class DebitMandate(Audit, Base):
    """口座振替依頼 (mandate): the current registration of a payer, one row per history entry."""

    __tablename__ = "debit_mandate"
    __table_args__ = {"info": {"label": "口座振替依頼情報"}}

    municipality_code: Mapped[str] = col("市区町村コード", String(6), pk=True)
    person_id: Mapped[str] = col("納税義務者 宛名番号", String(10), pk=True)
    history_no: Mapped[int] = col("履歴番号", Integer, pk=True)
    latest_flag: Mapped[bool] = col("最新フラグ", Boolean, nullable=False, default=True)
    household_id: Mapped[str] = col("世帯番号", String(10), nullable=False)
    registration_kind: Mapped[str] = col("登録区分", String(1), nullable=False)  # 1 新規 2 変更 3 停止
    received_date: Mapped[dt.date] = col("受付年月日", Date, nullable=False)
    start_month: Mapped[str] = col("開始年月", String(6), nullable=False)
    bank_code: Mapped[str] = col("金融機関コード", String(4), nullable=False)
    branch_code: Mapped[str] = col("店舗番号", String(3), nullable=False)
    account_type: Mapped[str] = col("口座種別コード", String(1), nullable=False)
    account_number: Mapped[str] = col("口座番号", String(7), nullable=False)
    account_holder_kana: Mapped[str] = col("口座名義人 カナ", String(30), nullable=False)
    stop_reason: Mapped[str | None] = col("停止事由", String(1))
    source_sha256: Mapped[str] = col("入力ファイルSHA-256", String(64), nullable=False)
    record_no: Mapped[int] = col("レコード番号", BigInteger, nullable=False)


class DebitRequest(InstallmentKey, Audit, Base):
    """口座振替請求: one row per installment requested from a bank for a 振替日."""

    __tablename__ = "debit_request"
    __table_args__ = {"info": {"label": "口座振替請求情報"}}

    customer_number: Mapped[str] = col("顧客番号", String(20), pk=True)
    municipality_code: Mapped[str] = col("市区町村コード", String(6), nullable=False)
    person_id: Mapped[str] = col("納税義務者 宛名番号", String(10), nullable=False)
    debit_date: Mapped[dt.date] = col("振替日", Date, nullable=False)
    due_date: Mapped[dt.date] = col("納期限", Date, nullable=False)
    bank_code: Mapped[str] = col("金融機関コード", String(4), nullable=False)
    branch_code: Mapped[str] = col("店舗番号", String(3), nullable=False)
    account_type: Mapped[str] = col("口座種別コード", String(1), nullable=False)
    account_number: Mapped[str] = col("口座番号", String(7), nullable=False)
    account_holder_kana: Mapped[str] = col("口座名義人 カナ", String(30), nullable=False)
    amount: Mapped[int] = money("請求額")
    request_file: Mapped[str] = col("請求ファイル", String(200), nullable=False)
    result_code: Mapped[str | None] = col("振替結果コード", String(1))
    result_sha256: Mapped[str | None] = col("結果ファイルSHA-256", String(64))
    status: Mapped[str] = col("状態", String(12), nullable=False)  # requested | done | failed


class SchemaMigration(Base):
    __tablename__ = "schema_migrations"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    applied_at: Mapped[str] = mapped_column(String(32), nullable=False)


# ---- 年金特徴 (jobs.pension): tables of this area go below this line (migration 003+)


# ---- 督促・延滞金 (jobs.arrears: dunning): tables of this area go below this line (migration 003+)


class DunningNotice(InstallmentPK, Audit, Base):
    """督促状: one row per installment that got a 督促状 (the key: never twice), with the 延滞金
    stated on it and, once the 本税 is paid in full, the 延滞金 調定 and its 収入 (TN030)."""

    __tablename__ = "dunning_notice"
    __table_args__ = {"info": {"label": "督促状情報"}}

    dunning_no: Mapped[str] = col("督促状番号", String(20), nullable=False)
    person_id: Mapped[str] = col("宛名番号", String(10), nullable=False)
    household_id: Mapped[str] = col("世帯番号", String(10), nullable=False)
    due_date: Mapped[dt.date] = col("納期限", Date, nullable=False)
    issue_date: Mapped[dt.date] = col("督促状発行日", Date, nullable=False)
    pay_by: Mapped[dt.date] = col("指定期限", Date, nullable=False)
    tax_amount: Mapped[int] = money("督促時未納本税額")
    late_fee_amount: Mapped[int] = money("延滞金 (指定期限まで)")
    dunning_fee_amount: Mapped[int] = money("督促手数料")
    print_file: Mapped[str] = col("印刷データファイル", String(200), nullable=False)
    job_id: Mapped[str] = col("ジョブID", String(8), nullable=False)
    generation: Mapped[str] = col("世代", String(32), nullable=False)
    completed_date: Mapped[dt.date | None] = col("本税完納日", Date)
    late_fee_levy_date: Mapped[dt.date | None] = col("延滞金調定日", Date)
    late_fee_levied: Mapped[int] = money("延滞金調定額")
    late_fee_received: Mapped[int] = money("延滞金収入額")


# ---- 催告・分割・返戻・執行停止 (jobs.arrears: records): tables of this area go below this line (migration 003+)


class ArrearsReminder(Audit, Base):
    """催告履歴 (記録管理): one row per 催告 sent to a taxpayer (現年催告書, 一斉催告書) or made by
    telephone (電話催告), with its amount and the 約束期日 (promised payment date) if any."""

    __tablename__ = "arrears_reminder"
    __table_args__ = {"info": {"label": "催告履歴"}}

    reminder_id: Mapped[str] = col("催告番号", String(40), pk=True)
    municipality_code: Mapped[str] = col("市区町村コード", String(6), nullable=False)
    person_id: Mapped[str] = col("納税義務者 宛名番号", String(10), nullable=False)
    household_id: Mapped[str | None] = col("世帯番号", String(10))
    reminder_kind: Mapped[str] = col("催告種別", String(8), nullable=False)  # current | bulk | phone
    reminder_date: Mapped[dt.date] = col("催告日", Date, nullable=False)
    amount: Mapped[int] = money("催告額")
    installments: Mapped[int] = col("催告期別数", Integer, nullable=False, default=0)
    oldest_due_date: Mapped[dt.date | None] = col("最古納期限", Date)
    promise_date: Mapped[dt.date | None] = col("約束期日", Date)
    note: Mapped[str | None] = col("備考", String(200))
    job_id: Mapped[str] = col("ジョブID", String(8), nullable=False)


class ArrearsReminderItem(Audit, Base):
    """催告明細: the installments (期別) one 催告 named, with their unpaid balance."""

    __tablename__ = "arrears_reminder_item"
    __table_args__ = {"info": {"label": "催告明細"}}

    reminder_id: Mapped[str] = col("催告番号", String(40), pk=True)
    levy_year: Mapped[int] = col("賦課年度", Integer, pk=True)
    notice_number: Mapped[str] = col("通知書番号", String(11), pk=True)
    installment_no: Mapped[int] = col("期別", Integer, pk=True)
    due_date: Mapped[dt.date] = col("納期限", Date, nullable=False)
    balance: Mapped[int] = money("未納額")


class ArrearsPlan(Audit, Base):
    """分割納付 / 納付誓約: one plan for a taxpayer's 滞納. ``status``: active 履行中 | broken 不履行 |
    completed 完了 | cancelled 取消."""

    __tablename__ = "arrears_plan"
    __table_args__ = {"info": {"label": "分割納付計画"}}

    plan_id: Mapped[str] = col("計画番号", String(24), pk=True)
    municipality_code: Mapped[str] = col("市区町村コード", String(6), nullable=False)
    person_id: Mapped[str] = col("納税義務者 宛名番号", String(10), nullable=False)
    household_id: Mapped[str | None] = col("世帯番号", String(10))
    registered_date: Mapped[dt.date] = col("誓約日", Date, nullable=False)
    first_due_date: Mapped[dt.date] = col("初回納付期日", Date, nullable=False)
    last_due_date: Mapped[dt.date] = col("最終納付期日", Date, nullable=False)
    plan_amount: Mapped[int] = money("計画額")
    installment_count: Mapped[int] = col("分割回数", Integer, nullable=False)
    paid_at_registration: Mapped[int] = money("誓約時収納額")
    status: Mapped[str] = col("状態", String(10), nullable=False)
    status_date: Mapped[dt.date | None] = col("状態変更日", Date)
    source_sha256: Mapped[str] = col("入力ファイルSHA-256", String(64), nullable=False)
    job_id: Mapped[str] = col("ジョブID", String(8), nullable=False)


class ArrearsPlanTarget(Audit, Base):
    """分割納付の対象期別: the 滞納 installments a plan covers (held from 督促 while the plan runs)."""

    __tablename__ = "arrears_plan_target"
    __table_args__ = {"info": {"label": "分割納付対象期別"}}

    plan_id: Mapped[str] = col("計画番号", String(24), pk=True)
    levy_year: Mapped[int] = col("賦課年度", Integer, pk=True)
    notice_number: Mapped[str] = col("通知書番号", String(11), pk=True)
    installment_no: Mapped[int] = col("期別", Integer, pk=True)
    municipality_code: Mapped[str] = col("市区町村コード", String(6), nullable=False)
    due_date: Mapped[dt.date] = col("納期限", Date, nullable=False)
    balance: Mapped[int] = money("誓約時未納額")


class ArrearsPlanInstallment(Audit, Base):
    """分割納付の各回: amount and date, and the 期別 its 納付書's barcode names (the oldest open one)."""

    __tablename__ = "arrears_plan_installment"
    __table_args__ = {"info": {"label": "分割納付明細"}}

    plan_id: Mapped[str] = col("計画番号", String(24), pk=True)
    plan_no: Mapped[int] = col("回", Integer, pk=True)
    due_date: Mapped[dt.date] = col("納付期日", Date, nullable=False)
    amount: Mapped[int] = money("納付額")
    slip_levy_year: Mapped[int] = col("納付書 賦課年度", Integer, nullable=False)
    slip_notice_number: Mapped[str] = col("納付書 通知書番号", String(11), nullable=False)
    slip_installment_no: Mapped[int] = col("納付書 期別", Integer, nullable=False)


class ArrearsReturn(Audit, Base):
    """返戻・公示送達: a returned 納税通知書 (document_kind 1) or 督促状 (2), the address search's result
    (pending 調査中 | found 判明 | not_found 不明), the reissue, and the 公示送達 (掲示日, 送達日)."""

    __tablename__ = "arrears_return"
    __table_args__ = {"info": {"label": "返戻・公示送達"}}

    return_id: Mapped[str] = col("返戻番号", String(40), pk=True)
    municipality_code: Mapped[str] = col("市区町村コード", String(6), nullable=False)
    person_id: Mapped[str] = col("宛名番号", String(10), nullable=False)
    document_kind: Mapped[str] = col("文書種別", String(1), nullable=False)
    levy_year: Mapped[int] = col("賦課年度", Integer, nullable=False)
    notice_number: Mapped[str] = col("通知書番号", String(11), nullable=False)
    installment_no: Mapped[int] = col("期別", Integer, nullable=False)  # 0: the whole 納税通知書
    returned_date: Mapped[dt.date] = col("返戻日", Date, nullable=False)
    return_reason: Mapped[str | None] = col("返戻事由", String(40))
    search_result: Mapped[str] = col("調査結果", String(10), nullable=False)
    search_date: Mapped[dt.date | None] = col("調査日", Date)
    new_postal_code: Mapped[str | None] = col("判明 郵便番号", String(7))
    new_address: Mapped[str | None] = col("判明 住所", String(200))
    reissue_date: Mapped[dt.date | None] = col("再送付日", Date)
    posting_date: Mapped[dt.date | None] = col("公示送達 掲示日", Date)
    effective_date: Mapped[dt.date | None] = col("公示送達 送達日", Date)
    source_sha256: Mapped[str] = col("入力ファイルSHA-256", String(64), nullable=False)
    record_no: Mapped[int] = col("レコード番号", BigInteger, nullable=False)
    job_id: Mapped[str] = col("ジョブID", String(8), nullable=False)


class ArrearsSuspension(Audit, Base):
    """執行停止 (地方税法15条の7): reason code (1 無財産, 2 生活困窮, 3 所在・財産不明), start date, 即時消滅
    (15条の7 第5項), lifted date (取消)."""

    __tablename__ = "arrears_suspension"
    __table_args__ = {"info": {"label": "滞納処分の執行停止"}}

    suspension_id: Mapped[str] = col("執行停止番号", String(40), pk=True)
    municipality_code: Mapped[str] = col("市区町村コード", String(6), nullable=False)
    person_id: Mapped[str] = col("納税義務者 宛名番号", String(10), nullable=False)
    reason_code: Mapped[str] = col("停止事由コード", String(1), nullable=False)
    start_date: Mapped[dt.date] = col("停止開始日", Date, nullable=False)
    immediate_extinction: Mapped[bool] = col("即時消滅", Boolean, nullable=False, default=False)
    lifted_date: Mapped[dt.date | None] = col("停止取消日", Date)
    note: Mapped[str | None] = col("備考", String(200))
    source_sha256: Mapped[str] = col("入力ファイルSHA-256", String(64), nullable=False)
    record_no: Mapped[int] = col("レコード番号", BigInteger, nullable=False)
    job_id: Mapped[str] = col("ジョブID", String(8), nullable=False)


# ---- 月次締め・年次 (jobs.arrears: closing): tables of this area go below this line (migration 003+)


class ClosingMonth(Audit, Base):
    """月次締め: one row per closed month (収入日 / 更正年月日 of the month are locked). A posting dated
    in a closed month is refused or booked to the next open month (``late_posting_rule``, taken
    from config/common/closing.yaml when the month was closed; jobs/ledger/closing_lock.py)."""

    __tablename__ = "closing_month"
    __table_args__ = {"info": {"label": "月次締め"}}

    municipality_code: Mapped[str] = col("市区町村コード", String(6), pk=True)
    closing_month: Mapped[str] = col("締め年月", String(6), pk=True)  # YYYYMM
    fiscal_year: Mapped[int] = col("会計年度", Integer, nullable=False)
    closed_date: Mapped[dt.date] = col("締め処理日", Date, nullable=False)
    late_posting_rule: Mapped[str] = col("締め後計上区分", String(10), nullable=False)  # refuse | next_month
    levy_total: Mapped[int] = money("調定額累計")
    income_total: Mapped[int] = money("収入額累計")
    refund_total: Mapped[int] = money("還付・充当戻出額累計")
    write_off_total: Mapped[int] = money("不納欠損額累計")
    unpaid_total: Mapped[int] = money("収入未済額")
    current_levy_total: Mapped[int] = money("現年度調定額")
    current_income_total: Mapped[int] = money("現年度収入済額")
    job_id: Mapped[str] = col("ジョブID", String(8), nullable=False)
